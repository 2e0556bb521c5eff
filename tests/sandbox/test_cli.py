"""`leadbridge sandbox serve` and `leadbridge sandbox env`, run as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

LEADBRIDGE = str(Path(sys.executable).with_name("leadbridge"))
EXAMPLE_SEED = Path(__file__).parents[2] / "connector" / "sandbox" / "seeds" / "example.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, ca: Path, proc: subprocess.Popen, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "exited"
        try:
            response = requests.get(f"{url}/_sandbox/health", verify=str(ca), timeout=1)
            return response.json()
        except (requests.ConnectionError, OSError):
            time.sleep(0.05)
    raise AssertionError("sandbox did not come up")


def test_serve_and_env_point_a_shell_at_the_sandbox(tmp_path):
    """`eval "$(leadbridge sandbox env ...)"` gives settings that reach the served sandbox."""
    port, tls = _free_port(), tmp_path / "tls"
    proc = subprocess.Popen(
        [
            LEADBRIDGE,
            "sandbox",
            "serve",
            "--seed",
            str(EXAMPLE_SEED),
            "--port",
            str(port),
            "--tls-dir",
            str(tls),
            "--quiet",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = _wait_healthy(f"https://127.0.0.1:{port}", tls / "ca.pem", proc)
        assert health["salesforce"]["Account"] == 4
        assert health["hubspot"]["contacts"] == 5

        script = (
            f'eval "$({LEADBRIDGE} sandbox env --port {port} --tls-dir {tls})" && '
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
            timeout=5,
        )
        assert token.status_code == 200
        contacts = requests.get(
            f"{settings['hubspot'].rstrip('/')}/crm/v3/objects/contacts/101",
            headers={"Authorization": f"Bearer {settings['token']}"},
            verify=settings["ca"],
            timeout=5,
        )
        assert contacts.status_code == 200
        assert contacts.json()["properties"]["email"] == "sven.svensson@globex.se"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert proc.returncode == 0


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
        timeout=30,
    )
    assert result.returncode == 2
    assert "seed.salesforce.Lead[1]" in result.stderr
    assert "Company" in result.stderr
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
            timeout=30,
        )
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
