"""A TCP relay on loopback, to make a real server slow or gone without touching the server.

`Relay(port, silent=1)` listens on a free loopback port and forwards each connection to `port`,
byte for byte (TLS passes through untouched), except the first `silent` connections, which it
accepts and never answers: a server too slow to answer, as a client's timeout sees it.
`close()` stops listening and drops every connection: a server that went away.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

HOST = "127.0.0.1"


class Relay:
    """A loopback TCP relay to `target_port`; use it as a context manager."""

    def __init__(self, target_port: int, *, silent: int = 0) -> None:
        self.target_port = target_port
        self.silent = silent
        self.accepted = 0
        self._listener = socket.create_server((HOST, 0))
        self.port: int = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def __enter__(self) -> Relay:
        self._start(self._accept_loop)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"

    def close(self) -> None:
        """Stop listening (new connections are refused) and drop every open connection."""
        with self._lock:
            self._closed = True
            sockets = [self._listener, *self._sockets]
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _start(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                if self._closed:
                    client.close()
                    return
                self.accepted += 1
                self._sockets.append(client)
                if self.accepted <= self.silent:
                    continue  # held open, never answered
                upstream = socket.create_connection((HOST, self.target_port))
                self._sockets.append(upstream)
            self._start(_pump, client, upstream)
            self._start(_pump, upstream, client)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy `source` to `sink` until either side closes."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
