"""The state store: cursors, links, written hashes, dead letters, the audit log, and the
tombstones of erased people.

SQLite by default (`sqlite:///leadbridge.db`), PostgreSQL (`postgresql+psycopg://…`) for several
workers; the schema is migrated to the newest revision whenever a store is opened.
"""

from __future__ import annotations

from connector.state.store import AuditEntry, AuditEvent, Commit, StateStore

__all__ = ["AuditEntry", "AuditEvent", "Commit", "StateStore"]
