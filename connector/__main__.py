"""`python -m connector`: the `leadbridge` command, for where its script is not on PATH.

It is named `leadbridge` in help and errors, so what it prints matches the installed command.
"""

from __future__ import annotations

from connector.cli import main

if __name__ == "__main__":
    main(prog_name="leadbridge")
