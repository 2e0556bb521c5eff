"""`leadbridge run`: the service under uvicorn, with leadbridge's own signal handling.

uvicorn serves the app (TLS and proxy headers are its job) with its own signal capture off, so
this module decides what a signal does: the first SIGTERM or SIGINT stops taking work (webhooks
answer 503), lets the worker finish and record the batch in flight, then ends the server; if
that takes longer than `LEADBRIDGE_STOP_SECONDS`, or a second signal comes, the process exits
at once with status 1 (the next start replays what was not recorded).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Generator
from types import FrameType

import structlog
import uvicorn

from connector.service.app import Service, create_app
from connector.service.page import status_routes
from connector.service.webhooks import webhook_routes
from connector.settings import Settings
from connector.wiring import open_connector

log = structlog.get_logger(__name__)

#: Exit status when a stop could not wait for the batch in flight.
EXIT_FORCED = 1


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: `serve` installs leadbridge's."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def serve(settings: Settings, *, host: str, port: int) -> int:
    """Run until stopped; the exit status (0 after a clean stop)."""
    with open_connector(settings) as connector:
        service = Service(settings, connector)
        app = create_app(service, [*webhook_routes(service), *status_routes(service)])
        # Forwarded headers are read by the webhook endpoint itself, from trusted proxies only
        # (LEADBRIDGE_TRUSTED_PROXIES): uvicorn's own would hide the proxy's address.
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            proxy_headers=False,
            timeout_graceful_shutdown=int(settings.stop_seconds),
        )
        server = _Server(config)
        stopped = threading.Event()

        def stop_then_exit() -> None:
            if not service.worker.join(settings.stop_seconds):
                log.error("service.stop_timeout", seconds=settings.stop_seconds)
                os._exit(EXIT_FORCED)
            server.should_exit = True

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if stopped.is_set():
                log.warning("service.stop_forced", signal=signal.Signals(signum).name)
                os._exit(EXIT_FORCED)
            stopped.set()
            log.info("service.stopping", signal=signal.Signals(signum).name)
            service.stop()
            threading.Thread(target=stop_then_exit, name="leadbridge-stop", daemon=True).start()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            service.start()
            log.info("service.started", host=host, port=port)
            server.run()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            service.stop()
            service.worker.join(settings.stop_seconds)
        log.info("service.stopped")
    return 0
