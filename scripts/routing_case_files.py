"""What both routing-case generators write (`make_routing_cases.py`,
`make_routing_cases_global.py`): the files of a labelled set of `bench/routing_accuracy.py`,
`accounts.json` (the universe) and `cases.jsonl` (one lead per line), and the command line
that writes them."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def case_line(case_id: str, case: Any, top: Any) -> str:
    """One lead of `cases.jsonl`: what it says, the account it belongs to (`case.expected`)
    and that account's ultimate parent `top` (None when it belongs to none)."""
    return json.dumps({
        "id": case_id, "kind": case.kind, "email": case.email, "company": case.company,
        "country": case.country, "expected_account_id": case.expected,
        "expected_ultimate_parent_id": top.id if top else None,
        "expected_global": top.global_flag if top else None, "note": case.note,
    }, ensure_ascii=False)  # fmt: skip


def files(universe: dict[str, Any], lines: list[str]) -> tuple[str, str]:
    """The text of `accounts.json` and `cases.jsonl`."""
    return json.dumps(universe, ensure_ascii=False, indent=1) + "\n", "\n".join(lines) + "\n"


def main(
    doc: str,
    default_out: Path,
    make: Callable[[], tuple[str, str, int, int]],
    argv: list[str] | None,
) -> None:
    """`--out DIR` (default `default_out`); `make()` gives both files' text and the counts of
    accounts and cases."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=default_out, help="directory to write (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    universe, lines, n_accounts, n_cases = make()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "accounts.json").write_text(universe, encoding="utf-8")
    (args.out / "cases.jsonl").write_text(lines, encoding="utf-8")
    print(f"{n_accounts} accounts, {n_cases} cases → {args.out}")
