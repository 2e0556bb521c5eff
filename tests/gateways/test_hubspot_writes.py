"""`HubSpotGateway.update_contacts` and `read_contacts` against the sandbox's batch endpoints."""

from __future__ import annotations

from tests.gateways.hubspot_support import contacts_seed, fast_gateway, statuses

UPDATE_PATH = "/crm/v3/objects/contacts/batch/update"
READ_PATH = "/crm/v3/objects/contacts/batch/read"
BASE_MS = 1_700_000_000_000


def _props(server, contact_id: str) -> dict[str, str]:
    return server.sandbox.portal.stores["contacts"].records[contact_id].props


def test_150_updates_take_two_batch_calls_and_are_all_written(sandbox):
    """150 contacts are written in batches of 100: 2 calls, every contact updated."""
    server = sandbox(contacts_seed(150, lambda i: BASE_MS + i))
    gateway, _ = fast_gateway(server)
    ids = [str(1001 + i) for i in range(150)]

    results = gateway.update_contacts({i: {"hs_lead_status": "IN_PROGRESS"} for i in ids})

    assert [r.hubspot_id for r in results] == ids
    assert all(r.success and not r.errors for r in results)
    assert statuses(server, UPDATE_PATH) == [200, 200]
    assert {_props(server, i)["hs_lead_status"] for i in ids} == {"IN_PROGRESS"}


def test_one_refused_record_fails_alone_with_hubspots_category_and_message(sandbox):
    """A 207 fails only the bad records (bad option, unknown id); the rest are written."""
    server = sandbox(contacts_seed(150, lambda i: BASE_MS + i))
    gateway, _ = fast_gateway(server)
    updates = {str(1001 + i): {"firstname": f"Ada{i}"} for i in range(150)}
    updates["1042"] = {"firstname": "Bad", "hs_lead_status": "NOT_A_STATUS"}
    updates["9999"] = {"firstname": "Ghost"}

    results = gateway.update_contacts(updates)

    assert [r.hubspot_id for r in results] == list(updates)
    failed = {r.hubspot_id: r for r in results if not r.success}
    assert set(failed) == {"1042", "9999"}
    (bad,) = failed["1042"].errors
    assert bad.code == "VALIDATION_ERROR"
    assert bad.fields == ("hs_lead_status",)
    assert bad.message.startswith("Property values were not valid: ")
    assert "NOT_A_STATUS was not one of the allowed options" in bad.message
    (ghost,) = failed["9999"].errors
    assert ghost.code == "OBJECT_NOT_FOUND"
    assert statuses(server, UPDATE_PATH) == [207, 207]
    assert "firstname" not in _props(server, "1042")
    assert _props(server, "1041")["firstname"] == "Ada40"
    assert _props(server, "1150")["firstname"] == "Ada149"


def test_none_clears_a_property(sandbox):
    """An update to None empties the property in HubSpot (sent as "")."""
    server = sandbox(contacts_seed(1, lambda i: BASE_MS, firstname="Ada"))
    gateway, _ = fast_gateway(server)

    (result,) = gateway.update_contacts({"1001": {"firstname": None}})

    assert result.success
    assert "firstname" not in _props(server, "1001")


def test_read_contacts_batches_by_100_keeps_order_and_skips_unknown_ids(sandbox):
    """Reading 150 ids costs 2 calls; contacts come back in the order asked, unknown ids absent."""
    server = sandbox(contacts_seed(150, lambda i: BASE_MS + i, firstname="Ada"))
    gateway, _ = fast_gateway(server)
    ids = [str(1150 - i) for i in range(149)] + ["424242"]

    contacts = gateway.read_contacts(ids, ["firstname"])

    assert [c.id for c in contacts] == ids[:-1]
    assert contacts[0].properties["firstname"] == "Ada"
    assert contacts[0].updated_at.timestamp() * 1000 == BASE_MS + 149
    assert statuses(server, READ_PATH) == [200, 207]
