"""`leadbridge sandbox serve` and `leadbridge sandbox env`, run as a user runs them."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

LEADBRIDGE = str(Path(sys.executable).with_name("leadbridge"))
EXAMPLE_SEED = Path(__file__).parents[2] / "connector" / "sandbox" / "seeds" / "example.json"
#: How long a step may take before the test calls it hung. Generous on purpose: CI runs on a
#: loaded 2-core machine, and these bounds catch hangs, they do not measure speed.
HANG_GUARD = 120.0
#: How long a signalled server may take to exit: it needs well under a second.
STOP_GUARD = 10.0
_SERVING = re.compile(r"sandbox: serving (https://127\.0\.0\.1:(\d+))")


@dataclass
class Served:
    """A `leadbridge sandbox serve` subprocess: its url, port and what it wrote to stderr."""

    proc: subprocess.Popen[bytes]
    url: str
    port: int
    tls: Path
    stderr_file: Path

    @property
    def stderr(self) -> str:
        return self.stderr_file.read_text(encoding="utf-8", errors="replace")


@contextmanager
def serving(tmp_path: Path, *args: str, preexec_fn: Any = None) -> Iterator[Served]:
    """Run `leadbridge sandbox serve --port 0` until it answers; stop it on the way out,
    whatever happened (SIGTERM, then SIGKILL), so no test leaves a server behind.

    `--port 0` lets the server pick its port and say it (no race for a port chosen before);
    stderr goes to a file, so a chatty server can never block on a full pipe.
    """
    tls = tmp_path / "tls"
    stderr_file = tmp_path / "serve.stderr"
    with stderr_file.open("wb") as err:
        proc = subprocess.Popen(
            [LEADBRIDGE, "sandbox", "serve", "--port", "0", "--tls-dir", str(tls), *args],
            stdout=subprocess.DEVNULL,
            stderr=err,
            preexec_fn=preexec_fn,
        )
    try:
        url, port = _wait_serving(proc, stderr_file)
        served = Served(proc, url, port, tls, stderr_file)
        _wait_healthy(served)
        yield served
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=HANG_GUARD)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_serving(proc: subprocess.Popen[bytes], stderr_file: Path) -> tuple[str, int]:
    """The url the server says it serves, once it has said it."""
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        found = _SERVING.search(stderr_file.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found.group(1), int(found.group(2))
        assert proc.poll() is None, stderr_file.read_text(encoding="utf-8", errors="replace")
        time.sleep(0.05)
    raise AssertionError("sandbox serve did not say where it serves")


def _wait_healthy(served: Served) -> dict[str, Any]:
    """The health answer, once the server answers at all."""
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        assert served.proc.poll() is None, served.stderr
        try:
            response = requests.get(
                f"{served.url}/_sandbox/health", verify=str(served.tls / "ca.pem"), timeout=10
            )
            return response.json()
        except requests.RequestException:
            time.sleep(0.05)
    raise AssertionError("sandbox did not come up")


def test_serve_and_env_point_a_shell_at_the_sandbox(tmp_path):
    """`eval "$(leadbridge sandbox env ...)"` gives settings that reach the served sandbox."""
    with serving(tmp_path, "--seed", str(EXAMPLE_SEED), "--quiet") as served:
        health = _wait_healthy(served)
        assert health["salesforce"]["Account"] == 4
        assert health["hubspot"]["contacts"] == 5

        script = (
            f'eval "$({LEADBRIDGE} sandbox env --port {served.port} --tls-dir {served.tls})" && '
            f"{sys.executable} -c 'from connector.settings import Settings; "
            "s = Settings(); import json; print(json.dumps({"
            '"login": str(s.salesforce_login_url), "user": s.salesforce_username, '
            '"password": s.salesforce_password.get_secret_value(), '
            '"ca": str(s.salesforce_ca_bundle), "hubspot": str(s.hubspot_base_url), '
            '"token": s.hubspot_access_token.get_secret_value()}))\''
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEADBRIDGE_")}
        (tmp_path / "mappings").mkdir()  # Settings checks LEADBRIDGE_MAPPINGS_DIR exists
        out = subprocess.run(
            ["bash", "-c", script],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            check=True,
            timeout=HANG_GUARD,
        ).stdout
        settings = json.loads(out)
        assert settings["user"] == "integration@sandbox.local"

        token = requests.post(
            f"{settings['login'].rstrip('/')}/services/oauth2/token",
            data={
                "grant_type": "password",
                "client_id": "sandbox-consumer-key",
                "client_secret": "sandbox-consumer-secret",
                "username": settings["user"],
                "password": settings["password"],
            },
            verify=settings["ca"],
            timeout=HANG_GUARD,
        )
        assert token.status_code == 200
        contacts = requests.get(
            f"{settings['hubspot'].rstrip('/')}/crm/v3/objects/contacts/101",
            headers={"Authorization": f"Bearer {settings['token']}"},
            verify=settings["ca"],
            timeout=HANG_GUARD,
        )
        assert contacts.status_code == 200
        assert contacts.json()["properties"]["email"] == "sven.svensson@globex.se"

        served.proc.send_signal(signal.SIGINT)
        assert served.proc.wait(timeout=STOP_GUARD) == 0


def _ignore_sigint() -> None:
    """What a non-interactive shell does to a background job: SIGINT ignored, inherited."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    ("signum", "preexec_fn"),
    [
        pytest.param(signal.SIGINT, None, id="SIGINT"),
        pytest.param(signal.SIGINT, _ignore_sigint, id="SIGINT-ignored-by-the-parent"),
        pytest.param(signal.SIGTERM, None, id="SIGTERM"),
    ],
)
def test_serve_stops_on_sigint_and_sigterm(tmp_path, signum, preexec_fn):
    """`sandbox serve` stops at once on SIGINT (even one its parent ignored) and SIGTERM,
    exits 0 and says it stopped."""
    with serving(tmp_path, "--quiet", preexec_fn=preexec_fn) as served:
        served.proc.send_signal(signum)
        # It takes well under a second; the bound leaves room for a loaded machine, while a
        # server that ignores the signal (the defect this guards against) never exits at all.
        assert served.proc.wait(timeout=STOP_GUARD) == 0, served.stderr
        assert f"sandbox: stopped ({signal.Signals(signum).name})" in served.stderr
        assert "Traceback" not in served.stderr


def test_broken_seed_names_the_record_and_exits_2(tmp_path):
    """A seed with a lead missing its company stops `serve` with the record and field named."""
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "salesforce": {
                    "Lead": [{"LastName": "Fine", "Company": "Fine Co"}, {"LastName": "No Company"}]
                }
            }
        )
    )
    result = subprocess.run(
        [
            LEADBRIDGE,
            "sandbox",
            "serve",
            "--seed",
            str(seed),
            "--port",
            "0",
            "--tls-dir",
            str(tmp_path / "tls"),
        ],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )
    assert result.returncode == 2
    assert "seed.salesforce.Lead[1]" in result.stderr
    assert "Company" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_seed_with_a_lone_surrogate_names_the_record_and_exits_2(tmp_path):
    """A seed value written `"\\ud800"` (half a UTF-16 pair, not text) stops `serve` with the
    record and field named, instead of a sandbox whose every search answers 500."""
    seed = tmp_path / "seed.json"
    seed.write_text(
        '{"hubspot": {"contacts": [{"id": "101", "properties": '
        '{"email": "a@acme.test", "firstname": "Ad\\ud800a"}}]}}',
        encoding="utf-8",
    )
    tls = str(tmp_path / "tls")
    result = subprocess.run(
        [LEADBRIDGE, "sandbox", "serve", "--seed", str(seed), "--port", "0", "--tls-dir", tls],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )
    assert result.returncode == 2
    assert (
        "error: seed.hubspot.contacts[0].properties.firstname: contains a lone UTF-16 "
        "surrogate (\\ud800)" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_port_in_use_is_one_clear_line(tmp_path):
    """Serving on a port another process holds exits 2 with the port named, no traceback."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run(
            [
                LEADBRIDGE,
                "sandbox",
                "serve",
                "--port",
                str(port),
                "--tls-dir",
                str(tmp_path / "tls"),
            ],
            capture_output=True,
            text=True,
            timeout=HANG_GUARD,
        )
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_with_a_fault_profile_file_and_options(tmp_path):
    """`serve --faults FILE --fault KIND=CHANCE --fault-seed N --latency-ms N` serves that
    profile (options over the file), says so at start, and the admin API shows it."""
    profile = tmp_path / "faults.json"
    profile.write_text(json.dumps({"rates": {"server_error": 0.5}, "search_lag_ms": 2000}))
    args = ["--faults", str(profile), "--fault", "server_error=1", "--fault-seed", "42"]
    with serving(tmp_path, *args, "--latency-ms", "5", "--quiet") as served:
        assert "sandbox: fault profile seed 42; server_error 1; latency 5 ms" in served.stderr
        ca = str(served.tls / "ca.pem")
        shown = requests.get(f"{served.url}/_sandbox/faults/profile", verify=ca, timeout=10)
        assert shown.json()["profile"]["rates"] == {"server_error": 1.0}
        assert shown.json()["profile"]["search_lag_ms"] == 2000
        answer = requests.get(
            f"{served.url}/crm/v3/objects/contacts",
            headers={"Authorization": "Bearer sandbox-token"},
            verify=ca,
            timeout=10,
        )
        assert answer.status_code in (500, 502, 503)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--fault", "server_eror=0.1"], "--fault: rates.server_eror: unknown fault kind"),
        (["--fault", "server_error"], "expected KIND=CHANCE"),
        (["--fault", "server_error=2"], "rates.server_error: a chance from 0 to 1"),
    ],
)
def test_a_bad_fault_profile_stops_serve_naming_it(tmp_path, args, named):
    """A fault profile `serve` cannot honour exits 2 with the option and field named."""
    result = subprocess.run(
        [LEADBRIDGE, "sandbox", "serve", "--port", "0", "--tls-dir", str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )
    assert result.returncode == 2
    assert named in result.stderr
    assert "Traceback" not in result.stderr
