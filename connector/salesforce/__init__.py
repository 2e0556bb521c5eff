"""The Salesforce side: the only package that imports simple-salesforce.

`SalesforceGateway` is its face; what leaves it is a `connector.model` type or a
`connector.errors` error.
"""

from __future__ import annotations

from connector.salesforce.gateway import SalesforceGateway
from connector.salesforce.soql import soql

__all__ = ["SalesforceGateway", "soql"]
