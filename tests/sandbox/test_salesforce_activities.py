"""Tasks and Events in the sandbox, as Salesforce keeps them: created on a Lead (`WhoId`) by a
rep, with Status and Priority filled in for a Task, queried by `WhoId` and ordered by
`CreatedDate`. The sandbox leaves the Lead as it was; leadbridge does not count on a Lead
changing when an activity is logged on it (it asks for the activities of the Leads still
waiting for a first touch)."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.salesforce import queries
from tests.conftest import sf_client

REP = "rep@acme.test"
SEED = {
    "salesforce": {
        "User": [{"Id": "@rep", "Username": REP, "LastName": "Rep", "Email": REP}],
        "Lead": [
            {"Id": "@a", "LastName": "A", "Company": "Initech"},
            {"Id": "@b", "LastName": "B", "Company": "Initrode"},
        ],
    }
}


def test_activities_on_leads_are_created_and_queried_by_who_and_time(sandbox) -> None:
    """A rep's Task and Event on a Lead come back for `queries.activities_on`, oldest first;
    a Task gets Status 'Not Started' and Priority 'Normal'; the Lead is not modified."""
    server = sandbox(SEED)
    org = server.sandbox.org
    lead_a, lead_b = sorted(org.records["Lead"])
    stamp = org.records["Lead"][lead_a]["SystemModstamp"]
    rep = sf_client(server, REP)

    task = rep.Task.create({"WhoId": lead_a, "Subject": "Call", "TaskSubtype": "Call"})
    event = rep.Event.create(
        {
            "WhoId": lead_a,
            "Subject": "Meeting",
            "StartDateTime": "2027-01-02T10:00:00Z",
            "EndDateTime": "2027-01-02T11:00:00Z",
        }
    )
    rep.Task.create({"WhoId": lead_b, "Subject": "Email"})

    stored = rep.Task.get(task["id"])
    assert stored["Status"] == "Not Started" and stored["Priority"] == "Normal"
    assert stored["OwnerId"] == org.user_by_username(REP)["Id"]
    since = datetime(2000, 1, 1, tzinfo=UTC)
    tasks = rep.query_all(queries.activities_on("Task", [lead_a], since))["records"]
    events = rep.query_all(queries.activities_on("Event", [lead_a, lead_b], since))["records"]
    assert [r["WhoId"] for r in tasks] == [lead_a]
    assert [(r["WhoId"], r["attributes"]["url"].rsplit("/", 1)[1]) for r in events] == [
        (lead_a, event["id"])
    ]
    later = rep.query_all(queries.activities_on("Task", [lead_a], datetime(2100, 1, 1, tzinfo=UTC)))
    assert later["records"] == []
    assert org.records["Lead"][lead_a]["SystemModstamp"] == stamp
