"""Relink for runbooks: `leadbridge relink` (the state store's links rebuilt from both sides
after it was lost or moved; conflicts reported, never guessed), same options and exit statuses.

    python scripts/relink.py [--csv conflicts.csv]

A thin wrapper: the work is `connector.streams.links.relink`.
"""

from __future__ import annotations

import sys

from connector.cli import main

if __name__ == "__main__":
    main(["relink", *sys.argv[1:]], prog_name="scripts/relink.py")
