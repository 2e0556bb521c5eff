"""How write-back debts and HubSpot's confirmations combine (pure)."""

from __future__ import annotations

from connector.state.work import outstanding, owe, settle


def test_a_later_debt_replaces_the_earlier_value_of_a_property() -> None:
    """Owing 003B after 003A owes 003B; other properties owed stay."""
    assert owe({"a": "003A", "b": "x"}, {"a": "003B"}) == {"a": "003B", "b": "x"}


def test_confirmation_pays_only_the_value_owed() -> None:
    """A property confirmed with the value owed is paid; another value leaves it owed."""
    owed = {"a": "003B", "b": "x", "c": None}
    assert settle(owed, {"a": "003A", "b": "x", "c": ""}) == {"a": "003B"}


def test_outstanding_is_what_the_contact_does_not_show() -> None:
    """An empty value owed is shown by a contact without the property; the rest must be sent."""
    owed = {"a": "003A", "b": None, "c": "opportunity"}
    assert outstanding(owed, {"a": "003A", "c": "salesqualifiedlead"}) == {"c": "opportunity"}
