"""A local webhook receiver and the admin calls that subscribe it, shared by the sandbox's
webhook tests."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from connector.hubspot.webhooks import called_uri, verify
from connector.sandbox.server import SandboxServer

SECRET = "sandbox-app-client-secret"


@dataclass
class Received:
    """One request the receiver got, and the URI it was called at."""

    method: str
    uri: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def events(self) -> list[dict[str, Any]]:
        return json.loads(self.body)

    def verify(self) -> None:
        now = datetime.now(UTC)
        verify(self.method, self.uri, self.body, self.headers, SECRET, now)


class Receiver:
    """A local HTTP endpoint in a thread: records every request, answers the `statuses`
    given one per request (then 204), and can hold requests until `release()`."""

    def __init__(self, statuses: list[int] | None = None, *, hold: bool = False) -> None:
        self.received: list[Received] = []
        self.statuses = list(statuses or [])
        self.stall_s = 0.0
        self.gate = threading.Event()
        if not hold:
            self.gate.set()
        self.holding = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                path, _, query = self.path.partition("?")
                uri = called_uri("http", self.headers["Host"], path, query)
                with receiver._lock:
                    receiver.received.append(
                        Received("POST", uri, dict(self.headers), body, time.monotonic())
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 204
                    stall = receiver.stall_s
                    receiver.stall_s = 0.0
                receiver.holding.set()
                receiver.gate.wait(10)
                time.sleep(stall)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/hubspot"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self) -> None:
        self.gate.set()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The first `count` requests, waiting for them; fails if they do not come."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        pytest.fail(f"{len(self.received)} webhook requests arrived, expected {count}")

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [e for r in self.received for e in r.events]

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


def session(server: SandboxServer) -> requests.Session:
    session = requests.Session()
    session.verify = str(server.ca_file)
    session.trust_env = False
    session.headers["Authorization"] = "Bearer sandbox-token"
    return session


def subscribe(server: SandboxServer, target: str, **settings: Any) -> dict[str, Any]:
    body = {
        "target_url": target,
        "client_secret": SECRET,
        "events": ["contact.creation", "contact.propertyChange", "contact.deletion"],
        "properties": ["firstname", "lifecyclestage"],
        "batch_window_ms": 50,
        **settings,
    }
    answer = session(server).post(f"{server.url}/_sandbox/hubspot/webhooks/subscription", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["subscription"]


def deliveries(server: SandboxServer) -> dict[str, Any]:
    answer = session(server).get(f"{server.url}/_sandbox/hubspot/webhooks/deliveries")
    assert answer.status_code == 200
    return answer.json()


def settled(server: SandboxServer, timeout: float = 10.0) -> dict[str, Any]:
    """The deliveries once no event waits any more."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = deliveries(server)
        if seen["pendingEvents"] == 0:
            return seen
        time.sleep(0.02)
    pytest.fail("webhook events still pending")
