"""Reconcile for runbooks: `leadbridge reconcile` (both sides compared for the synced
population; drift as a table and CSV; `--repair` queues the fixes as work), same options and
exit statuses.

    python scripts/reconcile.py [--csv drift.csv] [--repair]

A thin wrapper: the work is `connector.streams.links.reconcile`.
"""

from __future__ import annotations

import sys

from connector.cli import main

if __name__ == "__main__":
    main(["reconcile", *sys.argv[1:]], prog_name="scripts/reconcile.py")
