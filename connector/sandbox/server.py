"""Serving the sandbox over HTTPS on 127.0.0.1, from the CLI or inside a test process."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, make_server

from connector.sandbox.app import Sandbox, SandboxConfig
from connector.sandbox.tls import TlsFiles, materialize, server_context

HOST = "127.0.0.1"


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
        """Serve in the calling thread until interrupted (the CLI's way)."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()
            self._socket.close()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._socket.close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
