"""A production install (`pip install leadbridge`, no extras): the connector runs, and the
sandbox, the demo and PostgreSQL say in one line which extra to install.

Each command runs in a fresh Python whose import system refuses the modules of the `sandbox`
and `postgres` extras (read from pyproject.toml), as an install without them would: quicker
than building a virtualenv per run, and the extras' lists in pyproject.toml are checked against
what the code imports below.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from connector.extras import POSTGRES, SANDBOX
from connector.sandbox.seed import read_seed

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
DEMO_SEED = ROOT / "connector" / "sandbox" / "seeds" / "demo.json"

SANDBOX_LINE = (
    "error: the sandbox (werkzeug, lark, trustme) is not installed: "
    "pip install 'leadbridge[sandbox]'"
)
POSTGRES_LINE = (
    "error: LEADBRIDGE_DATABASE_URL: the PostgreSQL support (psycopg, procrastinate) is not "
    "installed: pip install 'leadbridge[postgres]'"
)

# `python -c BASE_INSTALL BLOCKED ARGS...`: `leadbridge ARGS` without the BLOCKED modules.
BASE_INSTALL = """
import sys

blocked = frozenset(sys.argv[1].split(","))


class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
from connector.cli import main

main(sys.argv[2:], prog_name="leadbridge")
"""

# `python -c IMPORT_ALL`: import every module of the product, print which extras' modules came.
IMPORT_ALL = """
import json, sys
from pathlib import Path

import connector

root = Path(connector.__file__).parent
skip = ("connector.sandbox", "connector.demo", "connector.state.migrations", "connector.__main__")
loaded = {}
for path in sorted(root.rglob("*.py")):
    parts = path.relative_to(root.parent).with_suffix("").parts
    name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    if name == skip[0] or name.startswith(skip):
        continue
    __import__(name)
    loaded[name] = sorted(m for m in sys.modules if m.partition(".")[0] in sys.argv[1].split(","))
print(json.dumps(loaded))
"""


def _name(requirement: str) -> str:
    """The distribution a requirement names, normalised (PEP 503)."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def _modules(extra: str) -> frozenset[str]:
    """The top-level modules the distributions of pyproject.toml's `extra` provide."""
    wanted = {_name(r) for r in PYPROJECT["optional-dependencies"][extra]}
    return frozenset(
        module
        for module, dists in packages_distributions().items()
        if any(_name(d) in wanted for d in dists)
    )


BLOCKED = ",".join(sorted(_modules("sandbox") | _modules("postgres")))


def _base(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`leadbridge ARGS` as a base install runs it (environment inherited)."""
    return subprocess.run(
        [sys.executable, "-c", BASE_INSTALL, BLOCKED, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_extras_in_pyproject_are_the_ones_the_code_names() -> None:
    """pyproject.toml's sandbox and postgres extras provide exactly the modules whose absence
    the CLI explains, and none of their distributions is a base dependency."""
    assert _modules("sandbox") == SANDBOX.modules
    assert _modules("postgres") == POSTGRES.modules
    base = {_name(r) for r in PYPROJECT["dependencies"]}
    for extra in ("sandbox", "postgres"):
        assert base.isdisjoint(_name(r) for r in PYPROJECT["optional-dependencies"][extra])


def test_no_product_module_imports_an_extra(tmp_path: Path) -> None:
    """Importing every module of the connector (all but the sandbox and the demo) loads no
    module of the sandbox or postgres extras."""
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL, BLOCKED],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = json.loads(result.stdout)
    assert "connector.cli" in loaded
    assert "connector.wiring" in loaded
    assert {name: found for name, found in loaded.items() if found} == {}


@pytest.mark.parametrize(
    "args",
    [
        ["sandbox", "serve", "--port", "0", "--tls-dir", "tls"],
        ["sandbox", "env", "--port", "8443"],
        ["demo"],
    ],
    ids=["sandbox-serve", "sandbox-env", "demo"],
)
def test_sandbox_and_demo_name_the_sandbox_extra(tmp_path: Path, args: list[str]) -> None:
    """Without the sandbox extra, `sandbox serve|env` and `demo` print one line naming
    `leadbridge[sandbox]` and exit 2; no traceback, nothing made."""
    result = _base(*args, cwd=tmp_path)

    assert (result.returncode, result.stderr, result.stdout) == (2, SANDBOX_LINE + "\n", "")
    assert list(tmp_path.iterdir()) == []


def test_help_works_without_the_extras(tmp_path: Path) -> None:
    """`leadbridge --help` and `sandbox serve --help` answer without the extras."""
    root = _base("--help", cwd=tmp_path)
    serve = _base("sandbox", "serve", "--help", cwd=tmp_path)

    assert root.returncode == 0, root.stderr
    assert {"sync", "mappings", "routing", "sandbox", "demo"} <= set(root.stdout.split())
    assert serve.returncode == 0, serve.stderr
    assert "--seed" in serve.stdout


@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "postgresql"])
def test_postgres_url_without_the_driver_names_the_postgres_extra(
    sandbox, point_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    """`sync --once` with a PostgreSQL store but no driver: one line naming the setting and
    `leadbridge[postgres]`, exit 2, no password shown, nothing written to Salesforce."""
    server = sandbox(read_seed(DEMO_SEED))
    point_cli(server, ROOT / "mappings")
    monkeypatch.setenv("LEADBRIDGE_DATABASE_URL", f"{scheme}://lb:pg-Sekr1t@127.0.0.1:9/lb")
    leads = len(server.sandbox.org.records["Lead"])

    result = _base("sync", "--once", cwd=tmp_path)

    assert (result.returncode, result.stderr) == (2, POSTGRES_LINE + "\n"), result.stderr
    assert len(server.sandbox.org.records["Lead"]) == leads


def test_mappings_plan_with_postgres_url_names_the_extra(
    sandbox, point_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mappings plan` without the driver still previews, and says the cursor could not be
    read because `leadbridge[postgres]` is not installed."""
    server = sandbox(read_seed(DEMO_SEED))
    point_cli(server, ROOT / "mappings")
    monkeypatch.setenv("LEADBRIDGE_DATABASE_URL", "postgresql://lb:pg-Sekr1t@127.0.0.1:9/lb")

    result = _base("mappings", "plan", "--limit", "3", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert (
        "could not be read (the PostgreSQL support (psycopg, procrastinate) is not installed: "
        in result.stdout
    )
    assert "pip install 'leadbridge[postgres]'" in result.stdout
    assert "pg-Sekr1t" not in result.stdout + result.stderr


def test_sync_and_routing_run_without_the_extras(sandbox, point_cli, tmp_path: Path) -> None:
    """Against a sandbox served by another install, a base install syncs on SQLite with every
    shipped mapping file (Leads created and routed, conversions) and explains a routing."""
    server = sandbox(read_seed(DEMO_SEED))
    point_cli(server, ROOT / "mappings")
    leads = len(server.sandbox.org.records["Lead"])

    synced = _base("sync", "--once", cwd=tmp_path)
    explained = _base("routing", "explain", "sven.svensson@globex.se", cwd=tmp_path)

    assert synced.returncode == 0, synced.stderr
    assert len(server.sandbox.org.records["Lead"]) > leads
    assert "converted" in synced.stdout
    assert explained.returncode == 0, explained.stderr
    assert "owner: Greta Lindqvist" in explained.stdout
