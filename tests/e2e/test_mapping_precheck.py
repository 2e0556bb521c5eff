"""Every pass checks the mapping against both live schemas before it writes (issue 11, point 2):
a misspelt property or field refuses `sync --once` in `mappings validate`'s words, and a
property missing from what HubSpot sends is never read as empty."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from connector.cli import main
from connector.errors import MappingError
from connector.hubspot.gateway import HubSpotGateway
from connector.sandbox.env import sandbox_settings
from connector.wiring import open_connector

MAPPINGS = Path(__file__).parents[2] / "mappings"
V = "/services/data/v59.0"
CONTACTS = [str(1000 + i) for i in range(50)]
SEED = {
    "hubspot": {
        "contacts": [
            {
                "id": cid,
                "properties": {
                    "email": f"person{cid}@example-{cid}.test",
                    "firstname": f"First{cid}",
                    "lastname": f"Last{cid}",
                    "company": f"Company {cid}",
                    "jobtitle": "Buyer",
                    "lifecyclestage": "marketingqualifiedlead",
                },
            }
            for cid in CONTACTS
        ]
    }
}
WRITES = {"POST", "PATCH", "PUT", "DELETE"}


@pytest.fixture
def mappings_dir(tmp_path: Path) -> Path:
    """A copy of the shipped lead.yaml, to misspell."""
    directory = tmp_path / "mappings"
    directory.mkdir()
    shutil.copy(MAPPINGS / "lead.yaml", directory / "lead.yaml")
    return directory


@pytest.fixture
def server(sandbox, point_cli, mappings_dir):
    """The sandbox with 50 MQL contacts, synced once with the shipped mapping (50 Leads titled
    Buyer), the CLI pointed at it."""
    server = sandbox(SEED)
    point_cli(server, mappings_dir)
    first = _sync()
    assert first.exit_code == 0, first.output
    assert _titles(server) == Counter({"Buyer": 50})
    return server


def _sync() -> Result:
    return CliRunner().invoke(main, ["sync", "--once"], catch_exceptions=False)


def _titles(server) -> Counter:
    return Counter(lead.get("Title") for lead in server.sandbox.org.records["Lead"].values())


def _touch(server, city: str) -> None:
    """Marketing edits every contact: the next pass pulls all 50."""
    settings = sandbox_settings(server)
    HubSpotGateway.connect(settings).update_contacts({cid: {"city": city} for cid in CONTACTS})


def _misspell(mappings_dir: Path, old: str, new: str) -> tuple[Path, str]:
    """Replace `old` in lead.yaml; the file and `LINE:COL` of the new text."""
    lead = mappings_dir / "lead.yaml"
    text = lead.read_text()
    assert text.count(old) == 1
    text = text.replace(old, new)
    lead.write_text(text)
    start = text.index(new) + new.index(new.split()[-1].rstrip(","))
    line = text.count("\n", 0, start) + 1
    return lead, f"{line}:{start - text.rfind(chr(10), 0, start)}"


def _salesforce_writes(server, since: int) -> list[tuple[str, str]]:
    return [
        (e.method, e.path)
        for e in server.sandbox.journal.entries(since=since, api="salesforce")
        if e.method in WRITES and not e.path.endswith("/token")
    ]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "{hubspot: jobtitle,",
            "{hubspot: job_title_typo,",
            "fields.4.hubspot: unknown HubSpot contact property 'job_title_typo'; did you mean "
            "'jobtitle'?",
        ),
        (
            "salesforce: Title,",
            "salesforce: Titel,",
            "fields.4.salesforce: unknown Salesforce field 'Titel' on Lead; did you mean 'Title'?",
        ),
    ],
)
def test_a_misspelt_name_refuses_the_pass_in_validates_words(
    server, mappings_dir, old, new, message
):
    """A property HubSpot lacks (which read as empty blanked 50 of 50 Titles) or a Lead field
    Salesforce lacks (found only as INVALID_FIELD at the first write): exit 1, validate's
    `file:line:col` line with its "did you mean", not one Salesforce write, the Titles kept."""
    lead, at = _misspell(mappings_dir, old, new)
    _touch(server, "Malmo")
    mark = server.sandbox.journal.last_seq()

    result = _sync()

    assert result.exit_code == 1, result.output
    expected = f"error: {lead}:{at}: {message}"
    assert [line for line in result.stderr.splitlines() if line.startswith("error")] == [
        expected,
        "error: nothing was written: the mapping files do not fit the live Salesforce and "
        "HubSpot schemas (`leadbridge mappings validate` lists the same)",
    ]
    assert _salesforce_writes(server, mark) == []
    assert [e.path for e in server.sandbox.journal.entries(since=mark, api="hubspot")] == [
        "/crm/v3/properties/contacts"  # the check's read; no search, no write-back
    ]
    assert _titles(server) == Counter({"Buyer": 50})

    validate = CliRunner().invoke(main, ["mappings", "validate"], catch_exceptions=False)
    assert validate.exit_code == 1
    assert expected in validate.stdout.splitlines()


def test_the_check_costs_one_describe_and_one_properties_read_per_pass(server):
    """An update pass over 50 changed contacts: the Lead describe and the contact properties
    are the only calls the check adds (Salesforce: login, describe, upsert; HubSpot:
    properties, search)."""
    _touch(server, "Lund")
    mark = server.sandbox.journal.last_seq()

    result = _sync()

    assert result.exit_code == 0, result.output
    assert "updated 50" in result.output
    calls = [(e.api, e.method, e.path) for e in server.sandbox.journal.entries(since=mark)]
    assert sorted(calls) == sorted(
        [
            ("salesforce", "POST", "/services/oauth2/token"),
            ("salesforce", "GET", f"{V}/sobjects/Lead/describe"),
            ("salesforce", "PATCH", f"{V}/composite/sobjects/Lead/HubSpot_Contact_Id__c"),
            ("hubspot", "GET", "/crm/v3/properties/contacts"),
            ("hubspot", "POST", "/crm/v3/objects/contacts/search"),
        ]
    )


def test_a_property_gone_after_the_check_is_never_read_as_empty(server, mappings_dir, tmp_path):
    """A long-lived connector (as the service will hold) trusts a checked mapping for a few
    minutes; a property deleted in HubSpot meanwhile comes back missing from every contact,
    and the pass stops naming it instead of blanking the field: no Salesforce write."""
    settings = sandbox_settings(
        server, database_url=f"sqlite:///{tmp_path / 'state.db'}", mappings_dir=mappings_dir
    )
    with open_connector(settings) as connector:
        for _summary in connector.run_pass():
            pass  # checked; remembered for this connector
        # An admin deletes the property in HubSpot (the sandbox has no endpoint for it).
        del server.sandbox.portal.types["contacts"].properties["jobtitle"]
        _touch(server, "Uppsala")
        mark = server.sandbox.journal.last_seq()

        with pytest.raises(MappingError) as refused:
            list(connector.run_pass())

    assert str(refused.value).startswith(
        "lead.yaml: Lead.Title is mapped from HubSpot contact property 'jobtitle', but HubSpot "
        "sent a contact without it"
    )
    assert _salesforce_writes(server, mark) == []
    assert _titles(server) == Counter({"Buyer": 50})
    # No describe and no properties read on the second pass: the check was remembered.
    paths = [e.path for e in server.sandbox.journal.entries(since=mark)]
    assert f"{V}/sobjects/Lead/describe" not in paths
    assert "/crm/v3/properties/contacts" not in paths
