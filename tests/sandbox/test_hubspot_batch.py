"""Batch endpoints (`/crm/v3/objects/{type}/batch/...`): 200/201, 207 partial failures, limits."""

from __future__ import annotations

import json

import pytest
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
)

from tests.conftest import hubspot_client

SEED = {
    "hubspot": {
        "companies": [{"id": "201", "properties": {"name": "Acme"}}],
        "contacts": [
            {
                "id": "101",
                "properties": {
                    "email": "ada@acme.test",
                    "firstname": "Ada",
                    "lifecyclestage": "marketingqualifiedlead",
                },
            },
            {"id": "102", "properties": {"email": "alan@acme.test", "firstname": "Alan"}},
        ],
    }
}


def _batch(client):
    return client.crm.contacts.batch_api


def _upsert(client, inputs):
    return _batch(client).upsert(
        batch_input_simple_public_object_batch_input_upsert=BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=inputs
        )
    )


def test_read_by_id_returns_200_without_errors(sandbox):
    """A batch read of existing ids answers 200 COMPLETE with the requested properties."""
    client = hubspot_client(sandbox(SEED))
    answer = _batch(client).read(
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            inputs=[{"id": "101"}, {"id": "102"}], properties=["firstname"]
        )
    )
    assert answer.status == "COMPLETE"
    assert sorted(r.id for r in answer.results) == ["101", "102"]
    assert set(answer.results[0].properties) == {
        "createdate",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
    }
    assert not hasattr(answer, "errors") or answer.errors is None


def test_read_with_unknown_ids_answers_207(sandbox):
    """Unknown ids come back together in one OBJECT_NOT_FOUND error of a 207 answer."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    answer = _batch(client).read(
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            inputs=[{"id": "ada@acme.test"}, {"id": "x@y.test"}, {"id": "z@y.test"}],
            properties=["email"],
            id_property="email",
        )
    )
    assert [r.id for r in answer.results] == ["101"]
    assert answer.num_errors == 1
    assert answer.errors[0].category == "OBJECT_NOT_FOUND"
    assert answer.errors[0].context == {"ids": ["x@y.test", "z@y.test"]}
    assert server.sandbox.journal.entries(api="hubspot")[-1].status == 207


def test_more_than_100_inputs_answer_400(sandbox):
    """A batch of 101 inputs answers 400 VALIDATION_ERROR with HubSpot's message."""
    client = hubspot_client(sandbox(SEED))
    with pytest.raises(ApiException) as raised:
        _upsert(
            client,
            [{"id": f"u{i}@x.test", "idProperty": "email", "properties": {}} for i in range(101)],
        )
    assert raised.value.status == 400
    body = json.loads(raised.value.body)
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"] == (
        "The maximum number of inputs supported in a batch is 100. "
        "Please reduce the number of items and try again"
    )


def test_exactly_100_inputs_are_accepted(sandbox):
    """100 inputs is within the limit."""
    client = hubspot_client(sandbox(SEED))
    answer = _upsert(
        client,
        [{"id": f"u{i}@x.test", "idProperty": "email", "properties": {}} for i in range(100)],
    )
    assert len(answer.results) == 100


def test_upsert_with_one_bad_record_answers_207_and_writes_the_good_ones(sandbox):
    """One invalid input becomes a VALIDATION_ERROR in `errors`; the others are written."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    answer = _upsert(
        client,
        [
            {"id": "ada@acme.test", "idProperty": "email", "properties": {"jobtitle": "Countess"}},
            {"id": "new@acme.test", "idProperty": "email", "properties": {"firstname": "New"}},
            {
                "id": "bad@acme.test",
                "idProperty": "email",
                "properties": {"lifecyclestage": "hot"},
                "objectWriteTraceId": "t-3",
            },
        ],
    )
    assert server.sandbox.journal.entries(api="hubspot")[-1].status == 207
    assert answer.num_errors == 1
    error = answer.errors[0]
    assert error.category == "VALIDATION_ERROR"
    assert error.context == {"ids": ["bad@acme.test"], "objectWriteTraceId": ["t-3"]}
    assert error.errors[0].code == "INVALID_OPTION"
    assert error.errors[0].context == {"propertyName": ["lifecyclestage"]}
    by_email = {r.properties["email"]: r for r in answer.results}
    assert by_email["ada@acme.test"].new is False
    assert by_email["ada@acme.test"].id == "101"
    assert by_email["new@acme.test"].new is True
    assert by_email["new@acme.test"].properties["firstname"] == "New"
    store = server.sandbox.portal.stores["contacts"]
    assert store.records["101"].props["jobtitle"] == "Countess"
    assert store.by("email", "bad@acme.test") is None


def test_update_answers_207_for_unknown_ids_and_writes_the_rest(sandbox):
    """Unknown ids in a batch update are reported as OBJECT_NOT_FOUND; known ones update."""
    client = hubspot_client(sandbox(SEED))
    answer = _batch(client).update(
        batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
            inputs=[
                {"id": "101", "properties": {"firstname": "Augusta"}},
                {"id": "999", "properties": {"firstname": "Nobody"}},
            ]
        )
    )
    assert [r.properties["firstname"] for r in answer.results] == ["Augusta"]
    assert answer.errors[0].category == "OBJECT_NOT_FOUND"
    assert answer.errors[0].message == (
        "Could not get some CONTACT objects, they may be deleted or not exist. "
        "Check that ids are valid."
    )
    assert answer.errors[0].context == {"ids": ["999"]}


def test_update_all_good_answers_200_and_bumps_last_modified(sandbox):
    """A clean batch update answers 200 and moves lastmodifieddate to the write time."""
    server = sandbox(SEED)
    server.sandbox.portal.clock = lambda: 1_893_456_000.0  # 2030-01-01T00:00:00Z
    client = hubspot_client(server)
    answer = _batch(client).update(
        batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
            inputs=[{"id": "102", "properties": {"salesforceleadid": "00QKb0000000001MAA"}}]
        )
    )
    assert server.sandbox.journal.entries(api="hubspot")[-1].status == 200
    result = answer.results[0]
    assert result.properties["salesforceleadid"] == "00QKb0000000001MAA"
    assert result.properties["lastmodifieddate"] == "2030-01-01T00:00:00.000Z"


def test_update_keeps_lifecycle_stage_from_moving_backward(sandbox):
    """The backward-lifecycle rule applies to batch updates too (success, value unchanged)."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    _batch(client).update(
        batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
            inputs=[{"id": "101", "properties": {"lifecyclestage": "subscriber"}}]
        )
    )
    props = server.sandbox.portal.stores["contacts"].records["101"].props
    assert props["lifecyclestage"] == "marketingqualifiedlead"


def test_duplicate_ids_in_one_batch_answer_400(sandbox):
    """The same id twice in one batch update answers 400."""
    client = hubspot_client(sandbox(SEED))
    with pytest.raises(ApiException) as raised:
        _batch(client).update(
            batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
                inputs=[{"id": "101", "properties": {}}, {"id": "101", "properties": {}}]
            )
        )
    assert raised.value.status == 400
    assert "Duplicate IDs" in json.loads(raised.value.body)["message"]


def test_create_answers_201_and_can_associate_a_company(sandbox):
    """A clean batch create answers 201; an inline association makes the company primary."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    answer = _batch(client).create(
        batch_input_simple_public_object_batch_input_for_create=BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                {
                    "properties": {"email": "grace@navy.test"},
                    "associations": [
                        {
                            "to": {"id": "201"},
                            "types": [
                                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}
                            ],
                        }
                    ],
                }
            ]
        )
    )
    assert server.sandbox.journal.entries(api="hubspot")[-1].status == 201
    new_id = answer.results[0].id
    assert server.sandbox.portal.contact_companies[new_id] == ["201"]


def test_create_with_a_taken_email_answers_409_and_writes_nothing(sandbox):
    """A duplicate email fails the whole batch create with 409 CONFLICT."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    with pytest.raises(ApiException) as raised:
        _batch(client).create(
            batch_input_simple_public_object_batch_input_for_create=BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[
                    {"properties": {"email": "fresh@x.test"}},
                    {"properties": {"email": "ALAN@acme.test"}},
                ]
            )
        )
    assert raised.value.status == 409
    body = json.loads(raised.value.body)
    assert body == {
        **body,
        "category": "CONFLICT",
        "message": "Contact already exists. Existing ID: 102",
    }
    assert server.sandbox.portal.stores["contacts"].by("email", "fresh@x.test") is None


def test_create_with_a_read_only_property_is_refused(sandbox):
    """Writing createdate in a batch create is refused as READ_ONLY_VALUE (207, nothing made)."""
    client = hubspot_client(sandbox(SEED))
    answer = _batch(client).create(
        batch_input_simple_public_object_batch_input_for_create=BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[{"properties": {"email": "e@x.test", "createdate": "2020-01-01"}}]
        )
    )
    assert answer.results == []
    assert answer.errors[0].errors[0].code == "READ_ONLY_VALUE"
    assert answer.errors[0].errors[0].message == (
        '"createdate" is a read only property; its value cannot be set.'
    )


def test_archive_batch(sandbox):
    """Batch archive answers 204 and the contacts disappear."""
    server = sandbox(SEED)
    client = hubspot_client(server)
    _batch(client).archive(batch_input_simple_public_object_id={"inputs": [{"id": "101"}]})
    assert server.sandbox.portal.counts()["contacts"] == 1
