"""`leadbridge demo`, the command `make demo` runs, as a new user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).parents[2]
LEADBRIDGE = str(Path(sys.executable).with_name("leadbridge"))


def test_demo_syncs_the_demo_seed_and_the_second_pass_writes_nothing():
    """The demo creates Leads, shows the refused contacts and Leads read back, then writes 0."""
    result = subprocess.run(
        [LEADBRIDGE, "demo"], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    first = re.search(
        r"created (\d+), updated 0, linked (\d+), unchanged 0, "
        r"not qualified 0, failed (\d+)",
        out,
    )
    assert first, out
    created, linked, failed = map(int, first.groups())
    assert created > 100 and linked >= 4 and failed == 3
    assert "STRING_TOO_LONG" in out and "REQUIRED_FIELD_MISSING" in out
    assert out.count("(HubSpot ") == 6  # six Leads read back from Salesforce
    assert re.search(r"routed new leads: .*global \d+", out), out
    assert out.count("  global  ") == 3
    assert re.search(r"converted (\d+) Leads \(\1 opportunities\).*failed 0", out), out
    assert "created 0, updated 0, linked 0" in out
    assert "writes in the second pass: 0" in out
    # The rep's three acceptances and two rejections reach HubSpot in the third pass.
    assert "updated 5 HubSpot contacts (accepted 3, rejected 2)" in out
    assert "sent 2 contacts back to an earlier lifecycle stage (cleared first)" in out
    assert out.count("hs_lead_status=IN_PROGRESS") == 3
    assert out.count("hs_lead_status=UNQUALIFIED, lifecyclestage=lead") == 2
    assert "sales_rejection_reason=No budget this year" in out
    # What waits for a person: the three hostile contacts, failures only, never work.
    waiting = out.split("== leadbridge dlq list", 1)[1].splitlines()[1:]
    assert waiting[0] == "3 failures waiting (oldest first)"
    assert sorted(line.split()[0] for line in waiting[1:4]) == ["1021", "1022", "1023"]
    assert "recheck" not in out and "pending" not in out
