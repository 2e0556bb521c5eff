"""SOQL over REST pages like Salesforce: 2,000 records a batch, a `nextRecordsUrl` with a query
locator for the rest, and errors in the REST error shape (through unmodified simple-salesforce)."""

from __future__ import annotations

import re

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.conftest import sf_client

LOCATOR_URL = re.compile(r"^/services/data/v59\.0/query/01g[A-Za-z0-9]{15}-(\d+)$")
QUERY = "SELECT Id, LastName FROM Lead ORDER BY LastName"


def _leads(count: int) -> dict:
    return {
        "salesforce": {
            "Lead": [{"LastName": f"Lead {n:05d}", "Company": "Acme"} for n in range(count)]
        }
    }


@pytest.fixture(scope="module")
def many_leads() -> dict:
    return _leads(2500)


def test_query_pages_past_2000_records_with_query_more(sandbox, many_leads):
    """2,500 rows come back as 2,000 plus 500; the locator URL fetches the rest, in order."""
    sf = sf_client(sandbox(many_leads))
    first = sf.query(QUERY)
    assert (first["totalSize"], first["done"], len(first["records"])) == (2500, False, 2000)
    m = LOCATOR_URL.match(first["nextRecordsUrl"])
    assert m and m.group(1) == "2000"
    rest = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert (rest["totalSize"], rest["done"], len(rest["records"])) == (2500, True, 500)
    assert "nextRecordsUrl" not in rest
    names = [r["LastName"] for r in first["records"] + rest["records"]]
    assert names == [f"Lead {n:05d}" for n in range(2500)]
    assert first["records"][0]["attributes"]["type"] == "Lead"


def test_query_all_collects_every_page(sandbox, many_leads):
    """`query_all` follows nextRecordsUrl to the end and gets every record once."""
    sf = sf_client(sandbox(many_leads))
    everything = sf.query_all(QUERY)
    assert everything["totalSize"] == 2500
    assert len({r["Id"] for r in everything["records"]}) == 2500


def test_query_all_endpoint_pages_like_query(sandbox):
    """`queryAll` (include_deleted) pages the same way, its locator URL under /queryAll/."""
    sf = sf_client(sandbox(_leads(2100)))
    first = sf.query(QUERY, include_deleted=True)
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/queryAll/01g")
    rest = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert len(first["records"]) + len(rest["records"]) == 2100


def test_batch_size_header_sets_the_page_size(sandbox):
    """`Sforce-Query-Options: batchSize=300` gives pages of 300, queryMore included (never
    under 200)."""
    sf = sf_client(sandbox(_leads(700)))
    page = sf.query(QUERY, headers={"Sforce-Query-Options": "batchSize=300"})
    assert len(page["records"]) == 300
    assert LOCATOR_URL.match(page["nextRecordsUrl"]).group(1) == "300"
    assert len(sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)["records"]) == 300
    small = sf.query(QUERY, headers={"Sforce-Query-Options": "batchSize=10"})
    assert len(small["records"]) == 200


def test_query_more_by_locator_identifier(sandbox):
    """query_more also accepts the bare locator (`01g...-2000`) rather than the URL."""
    sf = sf_client(sandbox(_leads(2100)))
    first = sf.query(QUERY)
    locator = first["nextRecordsUrl"].rsplit("/", 1)[1]
    rest = sf.query_more(locator)
    assert len(rest["records"]) == 100 and rest["done"] is True


def test_unknown_query_locator_answers_400(sandbox):
    """A locator the org never issued answers 400 INVALID_QUERY_LOCATOR."""
    sf = sf_client(sandbox())
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more("01gKb0000000099AAA-2000")
    assert caught.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_finished_cursor_is_closed(sandbox):
    """Once its last batch is served a locator no longer works."""
    sf = sf_client(sandbox(_leads(2100)))
    first = sf.query(QUERY)
    sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert caught.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_bad_soql_answers_400_with_its_error_code(sandbox):
    """A query Salesforce cannot run answers 400 with errorCode and message."""
    sf = sf_client(sandbox())
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Id FROM Nowhere__c")
    (error,) = caught.value.content
    assert error["errorCode"] == "INVALID_TYPE"
    assert "Nowhere__c" in error["message"]


def test_small_result_is_done_in_one_page(sandbox):
    """Fewer rows than a batch answer done:true without nextRecordsUrl."""
    sf = sf_client(sandbox(_leads(3)))
    result = sf.query("SELECT Id FROM Lead")
    assert result["totalSize"] == 3 and result["done"] is True
    assert set(result) == {"totalSize", "done", "records"}


# -- deleted records: the Recycle Bin that queryAll reads ----------------------------------------
def _deleted_seed() -> dict:
    return {
        "salesforce": {
            "User": [
                {
                    "Id": "@rep",
                    "Username": "rep@acme.test",
                    "LastName": "Rep",
                    "Email": "rep@acme.test",
                }
            ],
            "Lead": [
                {"LastName": name, "Company": "Acme", "OwnerId": "@rep"}
                for name in ("Kept", "Gone by REST", "Gone by collections")
            ],
        }
    }


def _ids_by_name(sf) -> dict[str, str]:
    return {r["LastName"]: r["Id"] for r in sf.query("SELECT Id, LastName FROM Lead")["records"]}


def test_query_all_returns_deleted_records_with_is_deleted_true(sandbox):
    """Leads deleted through REST and through Collections come back from queryAll with
    IsDeleted true (their owner path still resolves); query no longer sees them."""
    sf = sf_client(sandbox(_deleted_seed()))
    ids = _ids_by_name(sf)
    sf.Lead.delete(ids["Gone by REST"])
    sf.restful(f"composite/sobjects?ids={ids['Gone by collections']}", method="DELETE")

    soql = "SELECT LastName, IsDeleted, Owner.Name FROM Lead ORDER BY LastName"
    every = sf.query_all(soql, include_deleted=True)["records"]
    assert [(r["LastName"], r["IsDeleted"], r["Owner"]["Name"]) for r in every] == [
        ("Gone by collections", True, "Rep"),  # text sorts without regard to case
        ("Gone by REST", True, "Rep"),
        ("Kept", False, "Rep"),
    ]
    assert [r["LastName"] for r in sf.query_all(soql)["records"]] == ["Kept"]
    only_deleted = sf.query("SELECT COUNT() FROM Lead WHERE IsDeleted = true", include_deleted=True)
    assert only_deleted["totalSize"] == 2


def test_a_delete_rolled_back_leaves_nothing_in_the_recycle_bin(sandbox):
    """An allOrNone Collections delete that fails undoes the deletes: queryAll sees each Lead
    once, live."""
    sf = sf_client(sandbox(_deleted_seed()))
    ids = _ids_by_name(sf)
    results = sf.restful(
        f"composite/sobjects?ids={ids['Kept']},001000000000000AAA&allOrNone=true",
        method="DELETE",
    )
    assert [r["success"] for r in results] == [False, False]
    every = sf.query_all("SELECT Id, IsDeleted FROM Lead", include_deleted=True)["records"]
    assert sorted(r["Id"] for r in every) == sorted(ids.values())
    assert not any(r["IsDeleted"] for r in every)
