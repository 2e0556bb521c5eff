"""Shared fixtures: one HTTPS sandbox per test session, reset to a fresh seed for each test; a
fresh state database per test, on SQLite and (LEADBRIDGE_TEST_DATABASE_URL set) PostgreSQL."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hubspot import HubSpot
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from simple_salesforce import Salesforce

from connector.sandbox.app import SandboxConfig
from connector.sandbox.env import sandbox_login, sandbox_salesforce
from connector.sandbox.server import SandboxServer

API_VERSION = "59.0"
PG_URL = os.environ.get("LEADBRIDGE_TEST_DATABASE_URL")

# Property tests check behaviour, not speed: on a loaded 2-core machine (CI runs the sandbox in
# the same process) generation can be slow, which must not fail a run.
hypothesis_settings.register_profile(
    "leadbridge", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("leadbridge")


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """The sandbox, served on a free loopback port for the whole test session."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with SandboxServer(tls_dir=tmp_path_factory.mktemp("sandbox-tls")) as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Callable[..., SandboxServer]:
    """Call with a seed dict: the sandbox holds exactly that seed, with a clean journal."""
    original = SandboxConfig(**vars(sandbox_server.sandbox.config))

    def reset(seed: dict[str, Any] | None = None) -> SandboxServer:
        sandbox_server.sandbox.config = SandboxConfig(**vars(original))
        sandbox_server.sandbox.reset(seed or {})
        return sandbox_server

    yield reset
    sandbox_server.sandbox.config = original
    sandbox_server.sandbox.set_fault_profile(None)  # a test's fault profile ends with it


def sf_token(
    server: SandboxServer, username: str = "integration@sandbox.local", password: str = "sandbox"
) -> dict[str, Any]:
    """Log in through the sandbox's OAuth password grant; the token response as a dict."""
    return sandbox_login(server, username, password)


def sf_client(server: SandboxServer, username: str = "integration@sandbox.local") -> Salesforce:
    """An unmodified simple-salesforce client logged in to the sandbox as `username`."""
    return sandbox_salesforce(server, username, version=API_VERSION)


def hubspot_client(server: SandboxServer, token: str = "sandbox-token") -> HubSpot:
    """An unmodified hubspot-api-client pointed at the sandbox."""
    return HubSpot(access_token=token, host=server.url, ssl_ca_cert=str(server.ca_file))


@contextmanager
def pg_schema() -> Iterator[str]:
    """A new, empty schema in the PostgreSQL database at LEADBRIDGE_TEST_DATABASE_URL, dropped
    afterwards: the URL of a state store there."""
    assert PG_URL is not None
    schema = f"lb_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    # lock_timeout: a locking bug fails the test instead of hanging the run
    options = f"-csearch_path={schema} -clock_timeout=20s"
    url = sa.make_url(PG_URL).update_query_dict({"options": options})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not PG_URL, reason="LEADBRIDGE_TEST_DATABASE_URL not set"),
            ],
        ),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file in a directory not yet made, or a new PG schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'leadbridge.db'}"
        return
    with pg_schema() as url:
        yield url


def until(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    """Return once `condition()` holds (something another thread or process does, seen); fail
    naming `what` after `seconds`, a bound nothing healthy comes near."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s")
        time.sleep(0.02)
