"""Backfill for runbooks: `leadbridge backfill` with the same options and exit statuses.

    python scripts/backfill.py [--since 2024-01-01] [--stage marketingqualifiedlead] [--dry-run]
                               [--csv plan.csv] [--budget 30] [--limit N] [--restart]
                               [--mapping-changed [--yes]]

Settings come from the environment (LEADBRIDGE_*) as for every command. A thin wrapper: the work
is `connector.streams.backfill`, through `connector/commands/backfill.py`.
"""

from __future__ import annotations

import sys

from connector.cli import main

if __name__ == "__main__":
    main(["backfill", *sys.argv[1:]], prog_name="scripts/backfill.py")
