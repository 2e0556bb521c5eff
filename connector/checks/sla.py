"""sla.yaml beyond its structure: what its `reroute` settings need of the other files (the
loader already refuses an unknown key or a value of the wrong type, at its line)."""

from __future__ import annotations

from connector.checks.findings import Findings
from connector.files.loader import Loaded, Problem
from connector.reports.config import SlaConfig


def check_sla(loaded: Loaded[SlaConfig], *, routing: bool) -> list[Problem]:
    """Every finding about sla.yaml, in file order; `routing`: routing.yaml is there."""
    found = Findings(loaded)
    config = loaded.model
    if config.reroute.after_breach:
        if not routing:
            found.add(
                ("reroute", "after_breach"),
                "true needs routing.yaml: a breached lead's next owner comes from its rules",
            )
        if not config.targets:
            found.add(
                ("reroute", "after_breach"),
                "true, but no target under `targets`: no lead can breach",
                "warning",
            )
    elif config.reroute.global_leads:
        found.add(
            ("reroute", "global_leads"),
            "true does nothing while reroute.after_breach is false",
            "warning",
        )
    return sorted(found.problems, key=lambda p: (p.line, p.column, p.message))
