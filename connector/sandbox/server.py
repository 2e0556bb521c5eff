"""Serving the sandbox over HTTPS on 127.0.0.1, from the CLI or inside a test process."""

from __future__ import annotations

import signal
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from connector.sandbox.app import Sandbox, SandboxConfig
from connector.sandbox.faults import DropConnection
from connector.sandbox.tls import TlsFiles, materialize, server_context

HOST = "127.0.0.1"
#: The signals that stop `leadbridge sandbox serve`: Ctrl-C and what service managers send.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(Exception):
    """Raised in the main thread by `stop_on_signals` when a stop signal arrives."""

    def __init__(self, signum: int) -> None:
        self.signal_name = signal.Signals(signum).name
        super().__init__(self.signal_name)


@contextmanager
def stop_on_signals(signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> Iterator[None]:
    """Turn each of `signals` into `Stopped` in the main thread, whatever was inherited.

    A process started from a non-interactive shell's background job inherits SIGINT as
    ignored, and Python then never raises KeyboardInterrupt: such a sandbox could only be
    killed. SIGTERM's default action ends the process without closing the socket or saying
    so. Installing our own handler for both makes every way of asking the server to stop
    work the same, at once (the serving loop's `select` is interrupted). The handlers that
    were there before are put back on the way out.
    """

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise Stopped(signum)

    previous = {s: signal.signal(s, stop) for s in signals}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class _RequestHandler(WSGIRequestHandler):
    """werkzeug's handler, able to drop a connection the way a failing server does.

    When the app raises `DropConnection` (a fault profile's `connection_reset` or a lost
    answer), the connection is closed with SO_LINGER 0: the kernel sends a TCP reset and
    nothing of an answer, so the client sees "connection reset by peer". werkzeug hands the
    error to `connection_dropped`, as for a client that went away; without
    `close_connection` its keep-alive loop would then wait for another request on the dead
    socket.
    """

    def connection_dropped(
        self, error: BaseException, environ: dict[str, Any] | None = None
    ) -> None:
        if not isinstance(error, DropConnection):
            return
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # The socket really closes (and resets) once `finish` closes its reader.
            self.connection.close()
        except OSError:
            pass


class SandboxServer:
    """A running sandbox: `url`, `ca_file`, and the in-memory `sandbox` itself.

    Use it as a context manager, or call `start()` and `stop()`. `port=0` picks a free port.
    """

    def __init__(
        self,
        seed: dict[str, Any] | None = None,
        *,
        port: int = 0,
        tls_dir: str | Path,
        config: SandboxConfig | None = None,
    ) -> None:
        self.tls: TlsFiles = materialize(tls_dir)
        config = config or SandboxConfig()
        if config.sf_jwt_cert_file is None:
            config.sf_jwt_cert_file = self.tls.jwt_cert
        self.sandbox = Sandbox(config, seed)
        # Bind ourselves, so a port in use is an OSError to report, not werkzeug's sys.exit.
        self._socket = socket.create_server((HOST, port))
        self._server: BaseWSGIServer = make_server(
            HOST,
            port,
            self.sandbox,
            threaded=True,
            request_handler=_RequestHandler,
            ssl_context=server_context(self.tls),
            fd=self._socket.fileno(),
        )
        self.port = self._server.port
        self.url = f"https://{HOST}:{self.port}"
        config.base_url = self.url
        self._thread: threading.Thread | None = None

    @property
    def ca_file(self) -> Path:
        return self.tls.ca

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until an exception (`Stopped`, say) ends the loop.

        Requests are answered in threads of their own, so the loop only accepts: a signal
        handler raising in it stops the server within one `select` call.
        """
        try:
            self._server.serve_forever()
        finally:
            self.sandbox.webhooks.unsubscribe()
            self._server.server_close()
            self._socket.close()

    def stop(self) -> None:
        self.sandbox.webhooks.unsubscribe()
        self._server.shutdown()
        self._server.server_close()
        self._socket.close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
