"""`mappings/privacy.yaml` (the model and loader) and the erasure's pure plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.files.loader import MappingFileError
from connector.mapping.privacy import ERASED, PrivacyPolicy, load_privacy_policy
from connector.privacy.plan import (
    Anonymise,
    Delete,
    plan_hubspot,
    plan_salesforce,
    searched_values,
    settled_outcome,
)

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"


def _load(tmp_path: Path, text: str) -> PrivacyPolicy:
    (tmp_path / "privacy.yaml").write_text(text, encoding="utf-8")
    return load_privacy_policy(tmp_path)


def _problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(MappingFileError) as caught:
        _load(tmp_path, text)
    return str(caught.value).splitlines()


def test_the_shipped_file_deletes_leads_and_anonymises_contacts() -> None:
    """The shipped privacy.yaml: Leads deleted and emptied from the Recycle Bin; Contacts
    anonymised with their name, email and phones gone; no Salesforce-side recognition."""
    policy = load_privacy_policy(MAPPINGS)
    assert (policy.lead.action, policy.lead.hard_delete) == ("delete", True)
    assert policy.contact.action == "anonymise"
    values = policy.anonymised("Contact")
    assert values["LastName"] == ERASED
    assert {n for n, v in values.items() if v is None} >= {"FirstName", "Email", "Phone"}
    assert policy.salesforce_requests.lead is None


def test_anonymise_without_a_list_uses_the_objects_defaults(tmp_path: Path) -> None:
    """`action: anonymise` alone blanks the object's personal fields and replaces LastName;
    the pipeline's fields (Company, Status, LeadSource) are not touched."""
    policy = _load(tmp_path, "lead: {action: anonymise}\ncontact: {action: delete}\n")
    values = policy.anonymised("Lead")
    assert values["LastName"] == ERASED and values["Email"] is None
    assert not {"Company", "Status", "LeadSource"} & set(values)


def test_unknown_keys_and_actions_are_named_at_their_line(tmp_path: Path) -> None:
    """A misspelt key gets a "did you mean" and a wrong action the choices, each at its
    file:line:col."""
    lines = _problems(
        tmp_path,
        "lead:\n  action: erase\ncontact:\n  action: delete\n  hard_delte: false\n",
    )
    path = tmp_path / "privacy.yaml"
    assert any(line.startswith(f"{path}:2:11: ") and "'delete'" in line for line in lines)
    assert any(
        line.startswith(f"{path}:5:3: ") and "did you mean 'hard_delete'" in line for line in lines
    )


def test_anonymising_must_name_the_person_and_keep_required_fields(tmp_path: Path) -> None:
    """An anonymise list that blanks a required field, or keeps the email, or says a field
    twice, is refused at its line: Salesforce would refuse the first, the others keep her."""
    lines = _problems(
        tmp_path,
        "lead:\n"
        "  action: anonymise\n"
        "  anonymise:\n"
        "    blank: [FirstName, LastName, Phone]\n"
        "    replace: {Phone: x}\n"
        "contact: {action: delete}\n",
    )
    text = "\n".join(lines)
    assert "privacy.yaml:4:" in text
    assert "Lead.LastName is required in Salesforce and cannot be blank" in text
    assert "Phone is both blanked and replaced" in text
    assert "an anonymised Lead would keep Email, which name the person" in text


def test_fields_must_be_writable_names_and_requests_have_a_shape(tmp_path: Path) -> None:
    """`Id` cannot be blanked, a relationship path is not a record's own field, and the
    Salesforce-side recognition takes `field`, `equals` and `when: deleted` (nothing else)."""
    lines = _problems(
        tmp_path,
        "lead: {action: delete, anonymise: {blank: [Id, Owner.Email]}}\n"
        "contact: {action: delete}\n"
        "salesforce_requests:\n"
        "  lead: {field: Privacy__c, when: later}\n",
    )
    text = "\n".join(lines)
    assert "Id cannot be changed by an update" in text
    assert "'Owner.Email' is not a Salesforce field name" in text
    assert (
        "privacy.yaml:4:" in text
        and "salesforce_requests.lead.when: Input should be 'deleted'" in text
    )
    policy = _load(
        tmp_path,
        "lead: {action: delete}\ncontact: {action: delete}\n"
        "salesforce_requests:\n  contact: {field: Forget_Me__c}\n",
    )
    request = policy.salesforce_requests.contact
    assert request is not None and (request.equals, request.when) == (True, "deleted")


# -- the plan ---------------------------------------------------------------------------------
POLICY = PrivacyPolicy.model_validate(
    {"lead": {"action": "anonymise"}, "contact": {"action": "delete", "hard_delete": False}}
)


def test_each_record_as_its_objects_policy_says_and_converted_leads_deleted() -> None:
    """An open Lead is anonymised, a converted Lead deleted (it cannot be updated), a Contact
    deleted to the Recycle Bin as its policy says; a Lead anonymised already needs nothing."""
    target = POLICY.anonymised("Lead")
    done = {"Id": "00Q3", **target}
    plan = plan_salesforce(
        POLICY,
        [
            {"Id": "00Q1", "Email": "a@b.test", "LastName": "A"},
            {"Id": "00Q2", "IsConverted": True},
            done,
            {"Id": "00Q1", "Email": "a@b.test"},  # found twice: once
        ],
        [{"Id": "0031"}],
    )
    assert plan.updates == (Anonymise("Lead", "00Q1", target),)
    assert plan.deletes == (
        Delete("Lead", "00Q2", hard=True, why="converted: cannot be changed"),
        Delete("Contact", "0031", hard=False),
    )
    assert plan.anonymised == (("Lead", "00Q3"),)
    assert not plan_salesforce(POLICY, [done], [])


def test_records_in_the_recycle_bin_are_emptied_where_the_policy_hard_deletes() -> None:
    """A Lead in the bin is emptied (the Lead policy hard-deletes); a Contact there is left
    (hard_delete: false); each once; only that is a plan."""
    plan = plan_salesforce(
        POLICY, [], [], [("Lead", "00Q8"), ("Contact", "0038"), ("Lead", "00Q8")]
    )
    assert plan.empty == (("Lead", "00Q8"),)
    assert plan and not plan.deletes and not plan.updates


def test_hubspot_deletes_a_contact_or_its_id_and_blocks_an_email_once() -> None:
    """A contact found is deleted; with none, until an outcome is final, a known id is deleted
    (an archived contact is not readable) or else the email blocked; then nothing."""

    cases = [
        # (contact found, hubspot id, email, recorded outcome) -> action
        ((True, "7", None, "deleted"), "delete"),
        ((False, "7", "a@b.test", None), "delete"),
        ((False, None, "a@b.test", None), "block"),
        ((False, None, "a@b.test", "pending"), "block"),
        ((False, "7", "a@b.test", "not_found"), "none"),
        ((False, None, None, None), "none"),
    ]
    for (found, cid, email, outcome), action in cases:
        got = plan_hubspot(contact_found=found, hubspot_id=cid, email=email, outcome=outcome)
        assert got == action, (found, cid, email, outcome)


def test_work_started_and_gone_since_was_done() -> None:
    """A system recorded pending (or failed) with nothing left was erased; never started and
    nothing there: not found; a final outcome stays."""
    assert settled_outcome("hubspot", "pending") == "deleted"
    assert settled_outcome("salesforce", "failed") == "deleted"
    assert settled_outcome("salesforce", None, anonymised=True) == "anonymised"
    assert settled_outcome("hubspot", None) == "not_found"
    assert settled_outcome("salesforce", "anonymised") == "anonymised"


def test_the_store_is_searched_for_whole_names_and_phones_never_a_short_value() -> None:
    """Full names and phones from both sides, each once; a lone first name or a value too
    short to search without hitting others is not among them, nor a blanked record's."""
    values = searched_values(
        {"firstname": "Ann", "lastname": "Lee", "phone": "+46 70 555 0199", "mobilephone": ""},
        [
            {"FirstName": "Ann", "LastName": "Lee", "Phone": "123"},
            {"LastName": ERASED},
            {"FirstName": None, "LastName": "Quillfeather"},
        ],
    )
    assert values == ["Ann Lee", "+46 70 555 0199", "Quillfeather"]


def test_a_flag_set_on_a_live_record_is_refused_not_ignored(tmp_path: Path) -> None:
    """`when: set` (erase when the flag is set on a record still there) is not something the
    removals read sees: the file is refused, naming the line, rather than loaded to do nothing."""
    lines = _problems(
        tmp_path,
        "lead: {action: delete}\ncontact: {action: delete}\n"
        "salesforce_requests:\n  lead: {field: Privacy__c, when: set}\n",
    )
    assert len(lines) == 1
    assert "privacy.yaml:4:" in lines[0] and "'deleted'" in lines[0], lines
