"""`leadbridge privacy erase|report` through the CLI against the sandbox: the person gone (or
anonymised, per privacy.yaml) in Salesforce, GDPR-deleted and blocked in HubSpot, erased from
the state store with a tombstone; dry runs write nothing, reruns finish what is left or say
there is nothing; no trace of the person in the store or the logs."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from hubspot.crm.contacts import ApiException, SimplePublicObjectInputForCreate

from connector.cli import main
from connector.errors import FatalApiError
from connector.hubspot.gateway import HubSpotGateway
from connector.model import FieldError, WriteResult
from connector.salesforce.gateway import SalesforceGateway
from connector.salesforce.soql import soql
from connector.sandbox.salesforce.convert import LeadConvert, convert_lead
from connector.sandbox.server import SandboxServer
from connector.state.store import AuditEvent, Commit, StateStore
from tests.conftest import hubspot_client, sf_client

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
KEY = "k" * 40

AUGUSTA = {
    "email": "Augusta.Byron@Lovelace-Analytics.test",
    "firstname": "Augusta",
    "lastname": "Byron-King",
    "phone": "+44 20 7946 0958",
}
BERTRAM = {
    "email": "bertram.quill@quillworks.test",
    "firstname": "Bertram",
    "lastname": "Quillfeather",
    "phone": "+46 70 555 0199",
}


def _contact(cid: str, person: dict[str, str] | None = None, **extra: str) -> dict[str, Any]:
    props = person or {
        "email": f"other{cid}@example-{cid}.test",
        "firstname": f"Other{cid}",
        "lastname": f"Person{cid}",
    }
    return {
        "id": cid,
        "properties": {
            **props,
            "company": f"Company {cid}",
            "lifecyclestage": "marketingqualifiedlead",
            **extra,
        },
    }


SEED = {
    "hubspot": {
        "contacts": [_contact("101", AUGUSTA), _contact("102", BERTRAM), _contact("103")],
    },
    "salesforce": {"Account": [{"Id": "@quill", "Name": "Quillworks"}]},
}

DELETE_BOTH = """
lead: {action: delete}
contact: {action: delete}
"""
ANONYMISE_BOTH = """
lead: {action: anonymise}
contact: {action: anonymise}
"""


def traces(person: dict[str, str]) -> list[str]:
    """The person's values as the store or a log might hold them, lower case."""
    return [
        person["email"].lower(),
        person["lastname"].lower(),
        f"{person['firstname']} {person['lastname']}".lower(),
        person["phone"].lower(),
        person["phone"].replace(" ", "").lower(),
    ]


def store_texts(database_url: str) -> list[str]:
    """Every value of every table of the store, as text (JSON decoded too), lower case, sorted
    (PostgreSQL lists tables and rows in no set order: the same store compares equal)."""
    texts: list[str] = []
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        for name in sa.inspect(connection).get_table_names():
            table = sa.Table(name, sa.MetaData(), autoload_with=connection)
            for row in connection.execute(sa.select(*(sa.cast(c, sa.Text) for c in table.c))):
                for value in row:
                    if value is None:
                        continue
                    texts.append(value.lower())
                    with contextlib.suppress(ValueError):
                        texts.append(json.dumps(json.loads(value), ensure_ascii=False).lower())
    engine.dispose()
    return sorted(texts)


def found_in(texts: list[str], person: dict[str, str]) -> list[str]:
    return [t for t in traces(person) if any(t in x for x in texts)]


@pytest.fixture
def env(
    sandbox_server: SandboxServer,
    point_cli: Callable[[SandboxServer, Path], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
) -> Callable[[str | None], str]:
    """`env(privacy_yaml)`: the sandbox with SEED, lead.yaml and the given privacy.yaml
    (None: the shipped one), the privacy key, logs as JSON without PII redaction (so a leak
    would show), the state store on SQLite or PostgreSQL, one sync pass done. Returns the
    store's URL."""

    def make(privacy: str | None) -> str:
        sandbox_server.sandbox.reset(SEED)
        mappings = tmp_path / "mappings"
        mappings.mkdir(exist_ok=True)
        shutil.copy(MAPPINGS / "lead.yaml", mappings / "lead.yaml")
        if privacy is None:
            shutil.copy(MAPPINGS / "privacy.yaml", mappings / "privacy.yaml")
        else:
            (mappings / "privacy.yaml").write_text(privacy, encoding="utf-8")
        point_cli(sandbox_server, mappings)
        monkeypatch.setenv("LEADBRIDGE_DATABASE_URL", database_url)
        monkeypatch.setenv("LEADBRIDGE_PRIVACY_KEY", KEY)
        monkeypatch.setenv("LEADBRIDGE_LOG_FORMAT", "json")
        monkeypatch.setenv("LEADBRIDGE_LOG_REDACT_PII", "false")
        synced = cli("sync", "--once")
        assert synced.exit_code == 0, synced.output
        # A pass keeps ids and hashes only; routing's audit and dead letters keep values: give
        # the store some of each person's, under their record.
        with StateStore.open(database_url) as store:
            store.record(
                Commit(
                    stream="hubspot.contacts",
                    audit=[
                        AuditEvent("routed", cid, {"contact": dict(person), "rule": "EMEA"})
                        for cid, person in (("101", AUGUSTA), ("102", BERTRAM))
                    ],
                ),
                run_id="test",
            )
        return database_url

    return make


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def leads(server: SandboxServer, **match: Any) -> list[dict[str, Any]]:
    return [
        r
        for r in server.sandbox.org.records["Lead"].values()
        if all(r.get(k) == v for k, v in match.items())
    ]


def soql_count(server: SandboxServer, text: str) -> int:
    return int(sf_client(server).query(text)["totalSize"])


def blocked(server: SandboxServer, email: str) -> bool:
    """Whether HubSpot refuses a new contact with this email (the GDPR delete's block)."""
    api = hubspot_client(server).crm.contacts.basic_api
    try:
        api.create(SimplePublicObjectInputForCreate(properties={"email": email}))
    except ApiException as exc:
        return exc.status == 400 and "GDPR" in str(exc.body)
    return False


def writes_since(server: SandboxServer, mark: int) -> list[str]:
    """Requests since `mark` that change something (queries POSTed in a Composite call and
    HubSpot's batch read are reads)."""
    reads = ("/composite", "/search", "/token", "/batch/read")
    return [
        f"{e.method} {e.path}"
        for e in server.sandbox.journal.entries(since=mark)
        if e.method in ("PATCH", "PUT", "DELETE")
        or (e.method == "POST" and not e.path.endswith(reads))
    ]


def test_erase_by_email_deletes_everywhere_and_leaves_no_trace(sandbox_server, env):
    """Delete policy, by email: the Lead is deleted and emptied from the Recycle Bin, the
    contact GDPR-deleted (its email blocked: creating it again is refused), the store and the
    logs hold none of her values; the other people stay; the report counts one erasure."""
    server = sandbox_server
    db = env(DELETE_BOTH)
    (lead,) = leads(server, HubSpot_Contact_Id__c="101")
    assert found_in(store_texts(db), AUGUSTA)  # the check sees her before
    mark = server.sandbox.journal.last_seq()

    erased = cli("privacy", "erase", AUGUSTA["email"])

    assert erased.exit_code == 0, erased.output
    calls = [(e.method, e.path) for e in server.sandbox.journal.entries(since=mark)]
    assert [(m, p.split("/")[-1]) for m, p in calls] == [
        ("POST", "token"),  # the login
        ("POST", "read"),  # HubSpot: the contact by email (in the body, not the URL)
        ("POST", "composite"),  # Salesforce: her Leads and Contacts, one call
        ("POST", "composite"),  # and those in the Recycle Bin (queryAll), one call
        ("DELETE", "sobjects"),  # Collections delete
        ("POST", "59.0"),  # SOAP emptyRecycleBin
        ("POST", "gdpr-delete"),  # HubSpot
    ]
    assert f"Lead {lead['Id']} deleted and emptied from the Recycle Bin" in erased.stdout
    assert "contact '101' GDPR-deleted; its email is blocked" in erased.stdout
    assert erased.stdout.startswith("erased: tombstone 1")
    assert leads(server, HubSpot_Contact_Id__c="101") == []
    email = AUGUSTA["email"]
    assert soql_count(server, soql("SELECT Id FROM Lead WHERE Email = {}", email)) == 0
    assert server.sandbox.portal.stores["contacts"].get("101") is None
    assert blocked(server, email.upper())
    assert found_in(store_texts(db), AUGUSTA) == []
    assert found_in([(erased.stdout + erased.stderr).lower()], AUGUSTA) == []
    assert len(leads(server, HubSpot_Contact_Id__c="102")) == 1  # the others stay
    report = cli("privacy", "report", "--format", "json")
    assert json.loads(report.stdout) == [
        {
            "date": json.loads(report.stdout)[0]["date"],
            "reason": "request",
            "hubspot": "deleted",
            "salesforce": "deleted",
            "erasures": 1,
        }
    ]


def test_a_rerun_is_a_no_op_that_says_so(sandbox_server, env):
    """Once erased, the same command writes nothing anywhere and says there is nothing left."""
    env(DELETE_BOTH)
    assert cli("privacy", "erase", AUGUSTA["email"]).exit_code == 0
    mark = sandbox_server.sandbox.journal.last_seq()

    again = cli("privacy", "erase", AUGUSTA["email"].upper())
    by_id = cli("privacy", "erase", "--hubspot-id", "101")

    for result in (again, by_id):
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("already erased (tombstone 1, ")
        assert "nothing left to do" in result.stdout
    assert writes_since(sandbox_server, mark) == []
    assert json.loads(cli("privacy", "report", "--format", "json").stdout)[0]["erasures"] == 1


def test_dry_run_writes_nothing(sandbox_server, env):
    """--dry-run says what would happen and writes nothing: no API write, the store as it was."""
    db = env(DELETE_BOTH)
    before = store_texts(db)
    (lead,) = leads(sandbox_server, HubSpot_Contact_Id__c="101")
    mark = sandbox_server.sandbox.journal.last_seq()

    dry = cli("privacy", "erase", AUGUSTA["email"], "--dry-run")

    assert dry.exit_code == 0, dry.output
    assert dry.stdout.startswith("dry run: nothing was written")
    assert f"delete Lead {lead['Id']} and empty it from the Recycle Bin" in dry.stdout
    assert "GDPR-delete contact '101'" in dry.stdout
    assert writes_since(sandbox_server, mark) == []
    assert store_texts(db) == before
    assert sandbox_server.sandbox.portal.stores["contacts"].get("101") is not None
    assert json.loads(cli("privacy", "report", "--format", "json").stdout) == []


def test_erase_by_hubspot_id_anonymises_the_lead(sandbox_server, env):
    """Anonymise policy, by HubSpot id: the Lead stays for the funnel (status, company,
    source) with her name, email and phone gone; HubSpot's contact is purged; a rerun finds
    the Lead anonymised already and writes nothing."""
    db = env(ANONYMISE_BOTH)
    (lead,) = leads(sandbox_server, HubSpot_Contact_Id__c="101")

    erased = cli("privacy", "erase", "--hubspot-id", "101")

    assert erased.exit_code == 0, erased.output
    assert f"Lead {lead['Id']} anonymised" in erased.stdout
    (after,) = leads(sandbox_server, Id=lead["Id"])
    assert after["LastName"] == "(erased)"
    assert [after.get(f) for f in ("FirstName", "Email", "Phone")] == [None, None, None]
    assert (after["Company"], after["Status"]) == (lead["Company"], lead["Status"])
    assert sandbox_server.sandbox.portal.stores["contacts"].get("101") is None
    assert blocked(sandbox_server, AUGUSTA["email"])
    assert found_in(store_texts(db), AUGUSTA) == []
    assert found_in([(erased.stdout + erased.stderr).lower()], AUGUSTA) == []
    mark = sandbox_server.sandbox.journal.last_seq()
    again = cli("privacy", "erase", "--hubspot-id", "101")
    assert again.stdout.startswith("already erased"), again.output
    assert writes_since(sandbox_server, mark) == []
    (report,) = json.loads(cli("privacy", "report", "--format", "json").stdout)
    assert (report["hubspot"], report["salesforce"]) == ("deleted", "anonymised")


def test_a_converted_lead_is_deleted_and_its_contact_anonymised(sandbox_server, env):
    """Anonymise policy on a converted person: the converted Lead (which Salesforce does not
    let anyone change) is deleted, the Contact it became stays, anonymised, on its Account."""
    db = env(ANONYMISE_BOTH)
    org = sandbox_server.sandbox.org
    (lead,) = leads(sandbox_server, HubSpot_Contact_Id__c="102")
    account = next(iter(org.records["Account"]))
    converted = convert_lead(
        org,
        LeadConvert(lead["Id"], "Closed - Converted", account_id=account),
        org.integration_user_id(),
    )
    assert converted.success
    contact_id = converted.contact_id

    erased = cli("privacy", "erase", BERTRAM["email"])

    assert erased.exit_code == 0, erased.output
    assert f"Lead {lead['Id']} (converted: cannot be changed) deleted" in erased.stdout
    assert f"Contact {contact_id} anonymised" in erased.stdout
    assert leads(sandbox_server, Id=lead["Id"]) == []
    contact = org.records["Contact"][contact_id]
    assert (contact["LastName"], contact.get("Email"), contact["AccountId"]) == (
        "(erased)",
        None,
        account,
    )
    assert found_in(store_texts(db), BERTRAM) == []


def test_a_kill_before_hubspot_is_finished_by_a_rerun(sandbox_server, env, monkeypatch):
    """Killed after Salesforce and the store, before HubSpot: the tombstone says HubSpot is
    pending (the report shows it unfinished, no pass writes her again); the same command
    then finishes HubSpot only."""
    env(DELETE_BOTH)

    def killed(*args: Any, **kwargs: Any) -> bool:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(HubSpotGateway, "gdpr_delete", killed)
        with pytest.raises(Killed):
            cli("privacy", "erase", AUGUSTA["email"])
    assert leads(sandbox_server, HubSpot_Contact_Id__c="101") == []
    assert sandbox_server.sandbox.portal.stores["contacts"].get("101") is not None
    table = cli("privacy", "report")
    assert "request  pending  deleted     1" in table.stdout
    assert "1 not finished" in table.stdout
    mark = sandbox_server.sandbox.journal.last_seq()

    again = cli("privacy", "erase", AUGUSTA["email"])

    assert again.exit_code == 0, again.output
    assert "(first erased " in again.stdout
    assert "contact '101' GDPR-deleted" in again.stdout
    assert [w for w in writes_since(sandbox_server, mark) if "Soap" in w or "sobjects" in w] == []
    assert sandbox_server.sandbox.portal.stores["contacts"].get("101") is None
    (report,) = json.loads(cli("privacy", "report", "--format", "json").stdout)
    assert (report["hubspot"], report["salesforce"]) == ("deleted", "deleted")


def test_an_email_nobody_has_is_blocked_and_tombstoned(sandbox_server, env):
    """A request for an email neither system knows: HubSpot blocks it, a tombstone keeps its
    keyed hash (no pass will create it), the report counts it as not found."""
    db = env(DELETE_BOTH)

    erased = cli("privacy", "erase", "nobody.here@unknown-domain.test")

    assert erased.exit_code == 0, erased.output
    assert "hubspot    not_found: no contact has the email; it is blocked from re-import" in (
        erased.stdout
    )
    assert "salesforce not_found: nothing to do" in erased.stdout
    assert blocked(sandbox_server, "nobody.here@unknown-domain.test")
    with StateStore.open(db) as store:
        assert store.tombstoned(emails=["NOBODY.HERE@unknown-domain.test"], key=KEY)
    csv_text = cli("privacy", "report", "--format", "csv").stdout.splitlines()
    assert csv_text[0] == "date,reason,hubspot,salesforce,erasures"
    assert csv_text[1].endswith(",request,not_found,not_found,1")


def test_erase_without_privacy_yaml_or_key_says_what_is_missing(sandbox_server, env, tmp_path):
    """No privacy.yaml: exit 1 naming the file; no key: exit 2 naming the setting; nothing
    erased either way."""
    env(DELETE_BOTH)
    (tmp_path / "mappings" / "privacy.yaml").unlink()
    missing = cli("privacy", "erase", AUGUSTA["email"])
    assert missing.exit_code == 1
    assert "privacy.yaml: missing" in missing.stderr
    (tmp_path / "mappings" / "privacy.yaml").write_text(DELETE_BOTH, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("LEADBRIDGE_PRIVACY_KEY")
        no_key = cli("privacy", "erase", AUGUSTA["email"])
    assert no_key.exit_code == 2
    assert "LEADBRIDGE_PRIVACY_KEY" in no_key.stderr
    assert len(leads(sandbox_server, HubSpot_Contact_Id__c="101")) == 1


def test_a_refusal_exits_1_and_the_same_command_finishes_once_it_is_fixed(
    sandbox_server, env, monkeypatch
):
    """Salesforce refuses the delete (say, a validation rule): HubSpot and the store are still
    erased, the output names the record and Salesforce's code (never its message), exit 1, the
    report counts it failed; run again once fixed, only the Lead is deleted."""
    env(DELETE_BOTH)
    (lead,) = leads(sandbox_server, HubSpot_Contact_Id__c="101")

    def refuse(self: SalesforceGateway, ids: list[str]) -> list[WriteResult]:
        error = FieldError("DELETE_FAILED", f"cannot delete {AUGUSTA['lastname']}")
        return [WriteResult(i, success=False, errors=(error,)) for i in ids]

    with monkeypatch.context() as patch:
        patch.setattr(SalesforceGateway, "delete_records", refuse)
        refused = cli("privacy", "erase", AUGUSTA["email"])

    assert refused.exit_code == 1
    assert (
        f"salesforce failed: Lead {lead['Id']} not deleted: Salesforce refused (DELETE_FAILED)"
        in (refused.stdout)
    )
    assert "part of the erasure was refused: run the same command again" in refused.stderr
    assert found_in([(refused.stdout + refused.stderr).lower()], AUGUSTA) == []
    assert sandbox_server.sandbox.portal.stores["contacts"].get("101") is None
    (report,) = json.loads(cli("privacy", "report", "--format", "json").stdout)
    assert (report["hubspot"], report["salesforce"]) == ("deleted", "failed")

    again = cli("privacy", "erase", AUGUSTA["email"])

    assert again.exit_code == 0, again.output
    assert f"Lead {lead['Id']} deleted and emptied from the Recycle Bin" in again.stdout
    assert "hubspot    deleted: nothing to do" in again.stdout
    assert leads(sandbox_server, Id=lead["Id"]) == []
    (report,) = json.loads(cli("privacy", "report", "--format", "json").stdout)
    assert (report["hubspot"], report["salesforce"]) == ("deleted", "deleted")


def test_an_archived_contact_is_purged_by_its_id(sandbox_server, env):
    """A contact archived in HubSpot (not readable, kept 90 days) is still GDPR-deleted by its
    id, and its email blocked."""
    env(DELETE_BOTH)
    hubspot_client(sandbox_server).crm.contacts.basic_api.archive("101")

    dry = cli("privacy", "erase", "--hubspot-id", "101", "--dry-run")
    erased = cli("privacy", "erase", "--hubspot-id", "101")

    assert "GDPR-delete contact '101' (not readable: archived, or gone)" in dry.stdout
    assert erased.exit_code == 0, erased.output
    assert "contact '101' GDPR-deleted; its email is blocked" in erased.stdout
    assert blocked(sandbox_server, AUGUSTA["email"])


def test_a_failed_look_up_erases_nothing_and_quotes_no_one(sandbox_server, env, monkeypatch):
    """Salesforce refusing the look-up (its message quoting the query, her email in it):
    nothing is erased anywhere, and the error names the status and code, not the message."""
    env(DELETE_BOTH)

    def refuse(self: SalesforceGateway, **kwargs: Any) -> Any:
        msg = f"Salesforce query failed (HTTP 400): MALFORMED_QUERY: Email = '{kwargs['email']}'"
        raise FatalApiError(msg, status=400, code="MALFORMED_QUERY")

    monkeypatch.setattr(SalesforceGateway, "person_records", refuse)
    result = cli("privacy", "erase", AUGUSTA["email"])

    assert result.exit_code == 1
    assert "nothing was erased: looking the person up failed (HTTP 400, MALFORMED_QUERY)" in (
        result.stderr
    )
    assert found_in([(result.stdout + result.stderr).lower()], AUGUSTA) == []
    assert sandbox_server.sandbox.portal.stores["contacts"].get("101") is not None
    assert json.loads(cli("privacy", "report", "--format", "json").stdout) == []


class Killed(BaseException):
    """The process dying at this point (SIGKILL): nothing after it runs."""


@pytest.mark.parametrize(
    ("where", "method"),
    [
        ("before Salesforce's delete", "delete_records"),
        ("between the delete and emptying the Recycle Bin", "empty_recycle_bin"),
    ],
)
def test_a_kill_in_salesforce_is_finished_by_a_rerun_by_id(
    sandbox_server, env, monkeypatch, where, method
):
    """Killed in the Salesforce step, after the store erased her and kept the tombstone: a
    rerun by HubSpot id (the contact still there gives the email) deletes what is left and
    purges HubSpot; the Lead is gone for good either way and the report says deleted."""
    env(DELETE_BOTH)
    (lead,) = leads(sandbox_server, HubSpot_Contact_Id__c="101")

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(SalesforceGateway, method, killed)
        with pytest.raises(Killed):
            cli("privacy", "erase", "--hubspot-id", "101")
    (report,) = json.loads(cli("privacy", "report", "--format", "json").stdout)
    assert (report["hubspot"], report["salesforce"]) == ("pending", "pending"), where

    again = cli("privacy", "erase", "--hubspot-id", "101")

    assert again.exit_code == 0, again.output
    assert "(first erased " in again.stdout
    assert "contact '101' GDPR-deleted" in again.stdout
    assert leads(sandbox_server, Id=lead["Id"]) == []
    in_bin = sandbox_server.sandbox.org.recycle_bin.get("Lead", {})
    emptied = sandbox_server.sandbox.org.emptied.get("Lead", {})
    assert lead["Id"] not in in_bin or lead["Id"] in emptied, where
    (report,) = json.loads(cli("privacy", "report", "--format", "json").stdout)
    assert (report["hubspot"], report["salesforce"]) == ("deleted", "deleted")


def test_an_org_that_refuses_emptying_the_bin_leaves_the_record_there_and_says_so(
    sandbox_server, env, monkeypatch
):
    """Where Salesforce refuses emptyRecycleBin (no permission), the record is deleted to the
    Recycle Bin, the output says it stays there until Salesforce empties it, and the erasure
    counts as done (nothing a rerun could change)."""
    env(DELETE_BOTH)
    (lead,) = leads(sandbox_server, HubSpot_Contact_Id__c="101")

    def refuse(self: SalesforceGateway, ids: list[str]) -> list[WriteResult]:
        error = FieldError("INSUFFICIENT_ACCESS", "insufficient access rights")
        return [WriteResult(i, success=False, errors=(error,)) for i in ids]

    monkeypatch.setattr(SalesforceGateway, "empty_recycle_bin", refuse)
    erased = cli("privacy", "erase", AUGUSTA["email"])

    assert erased.exit_code == 0, erased.output
    assert (
        f"Lead {lead['Id']} deleted; Salesforce refused emptying the Recycle Bin "
        "(INSUFFICIENT_ACCESS): it stays there until Salesforce empties it (15 days)"
    ) in erased.stdout
    assert lead["Id"] in sandbox_server.sandbox.org.recycle_bin["Lead"]
    (report,) = json.loads(cli("privacy", "report", "--format", "json").stdout)
    assert report["salesforce"] == "deleted"
