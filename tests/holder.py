"""Another leadbridge holding a stream: a real process that opens the state store, holds one
stream through `StateStore.hold`, and keeps it until told to let go (a line on its stdin) or
killed. Tests use it to make a run's stream busy for exactly as long as they need, without
timing a pass.

    with Holder(database_url, "hubspot.contacts") as holder:  # returns once the stream is held
        ...                       # any other run of the stream finds it busy (holder.pid)
        holder.release()          # or holder.kill(): SIGKILL, as a crash would
"""

from __future__ import annotations

import select
import signal
import subprocess
import sys
from types import TracebackType

#: How long a holder may take to start and take its stream (opening a store migrates it).
START_SECONDS = 60


class Holder:
    """A process holding `stream` of the store at `database_url`; a context manager."""

    def __init__(self, database_url: str, stream: str) -> None:
        self.database_url = database_url
        self.stream = stream
        self.process: subprocess.Popen[str] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> Holder:
        self.process = subprocess.Popen(
            [sys.executable, __file__, self.database_url, self.stream],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], START_SECONDS)
        line = self.process.stdout.readline() if ready else ""
        if line.strip() != "held":
            self.kill()
            msg = f"the holder of {self.stream} did not start: {line!r}"
            raise AssertionError(msg)
        return self

    def release(self) -> None:
        """Let the stream go and wait for the process to end."""
        if self.process is None or self.process.poll() is not None:
            return
        assert self.process.stdin is not None
        self.process.stdin.write("release\n")
        self.process.stdin.flush()
        self.process.wait(timeout=START_SECONDS)

    def kill(self) -> None:
        """SIGKILL: the process dies holding the stream, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=START_SECONDS)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.release()
        finally:
            self.kill()
            if self.process is not None:
                for pipe in (self.process.stdin, self.process.stdout):
                    if pipe is not None:
                        pipe.close()


def _hold(database_url: str, stream: str) -> None:
    from connector.logging import configure_logging
    from connector.state.hold import Wait
    from connector.state.store import StateStore

    configure_logging("json", level="warning")  # stdout carries the protocol only
    with StateStore.open(database_url) as store, store.hold(stream, wait=Wait(0)):
        print("held", flush=True)
        sys.stdin.readline()


if __name__ == "__main__":
    _hold(sys.argv[1], sys.argv[2])
