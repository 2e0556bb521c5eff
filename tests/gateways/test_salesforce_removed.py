"""`SalesforceGateway.removed_records`: the Leads and Contacts deleted or merged away, read with
`queryAll` (exact HTTP, with `responses`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from tests.gateways.test_salesforce_gateway import COMPOSITE_URL, LIMIT_INFO, make_gateway


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def _reply(ref: str, records: list[dict[str, object]]) -> dict[str, object]:
    return {
        "referenceId": ref,
        "httpStatusCode": 200,
        "body": {"done": True, "totalSize": len(records), "records": records},
    }


def test_removed_records_is_one_composite_call_of_two_query_all_subrequests(http) -> None:
    """Leads and Contacts removed since the cursor: one POST /composite carrying two `queryAll`
    GETs (`IsDeleted = true AND SystemModstamp >= <UTC literal>`, oldest first), the flag field
    asked only of the object privacy.yaml names it for; rows come back merged oldest first,
    with their object, the stamp as a UTC datetime and no `attributes`."""
    http.add(
        responses.POST,
        COMPOSITE_URL,
        json={
            "compositeResponse": [
                _reply(
                    "leads",
                    [
                        {
                            "attributes": {"type": "Lead"},
                            "Id": "00Q2",
                            "MasterRecordId": "00Q1",
                            "SystemModstamp": "2026-12-07T10:05:00.000+0000",
                            "HubSpot_Contact_Id__c": "102",
                            "Privacy_Erasure__c": False,
                        }
                    ],
                ),
                _reply(
                    "contacts",
                    [
                        {
                            "attributes": {"type": "Contact"},
                            "Id": "0031",
                            "MasterRecordId": None,
                            "SystemModstamp": "2026-12-07T10:01:00.000+0000",
                            "HubSpot_Contact_Id__c": None,
                        }
                    ],
                ),
            ]
        },
        headers=LIMIT_INFO,
    )
    since = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)

    rows = make_gateway().removed_records(since, lead_fields=["Privacy_Erasure__c"])

    (call,) = http.calls
    body = json.loads(call.request.body)
    assert body["allOrNone"] is False
    urls = [urlsplit(s["url"]) for s in body["compositeRequest"]]
    assert [u.path for u in urls] == ["/services/data/v59.0/queryAll"] * 2
    assert [s["method"] for s in body["compositeRequest"]] == ["GET", "GET"]
    assert [parse_qs(u.query)["q"][0] for u in urls] == [
        "SELECT Id, MasterRecordId, SystemModstamp, HubSpot_Contact_Id__c, Privacy_Erasure__c "
        "FROM Lead WHERE IsDeleted = true AND SystemModstamp >= 2026-12-07T10:00:00+00:00 "
        "ORDER BY SystemModstamp, Id",
        "SELECT Id, MasterRecordId, SystemModstamp, HubSpot_Contact_Id__c "
        "FROM Contact WHERE IsDeleted = true AND SystemModstamp >= 2026-12-07T10:00:00+00:00 "
        "ORDER BY SystemModstamp, Id",
    ]
    assert [(r["sobject"], r["Id"], r["SystemModstamp"]) for r in rows] == [
        ("Contact", "0031", datetime(2026, 12, 7, 10, 1, tzinfo=UTC)),
        ("Lead", "00Q2", datetime(2026, 12, 7, 10, 5, tzinfo=UTC)),
    ]
    assert rows[1]["MasterRecordId"] == "00Q1"
    assert all("attributes" not in r for r in rows)


def test_removed_records_reads_the_whole_recycle_bin_before_a_cursor(http) -> None:
    """No cursor yet: no time condition; an empty Recycle Bin answers no rows in that one call."""
    http.add(
        responses.POST,
        COMPOSITE_URL,
        json={"compositeResponse": [_reply("leads", []), _reply("contacts", [])]},
        headers=LIMIT_INFO,
    )

    assert make_gateway().removed_records(None) == []

    subrequests = json.loads(http.calls[0].request.body)["compositeRequest"]
    texts = [parse_qs(urlsplit(s["url"]).query)["q"][0] for s in subrequests]
    assert texts == [
        "SELECT Id, MasterRecordId, SystemModstamp, HubSpot_Contact_Id__c FROM Lead "
        "WHERE IsDeleted = true ORDER BY SystemModstamp, Id",
        "SELECT Id, MasterRecordId, SystemModstamp, HubSpot_Contact_Id__c FROM Contact "
        "WHERE IsDeleted = true ORDER BY SystemModstamp, Id",
    ]
