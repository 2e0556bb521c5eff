"""The optional parts of leadbridge, and one line naming the extra when one is missing.

A production install (`pip install leadbridge`) carries only what the connector runs. The local
sandbox (and `leadbridge demo`, which runs against it) and the PostgreSQL driver come with the
extras `leadbridge[sandbox]` and `leadbridge[postgres]` (pyproject.toml), so using one without
its extra must say which to install, not end in a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from connector.errors import ConfigError


@dataclass(frozen=True)
class Extra:
    """An optional-dependencies group of pyproject.toml: `modules` are the top-level modules its
    distributions provide, so an ImportError naming one of them means the extra is missing."""

    name: str
    what: str
    modules: frozenset[str]

    @property
    def install(self) -> str:
        """The command that installs it."""
        return f"pip install 'leadbridge[{self.name}]'"

    def missing(self) -> str:
        """What to tell the user: what is not installed and the command that installs it."""
        return f"{self.what} is not installed: {self.install}"

    def provides(self, exc: ImportError) -> bool:
        """Whether `exc` is the import of one of this extra's modules failing."""
        return (exc.name or "").partition(".")[0] in self.modules


SANDBOX = Extra(
    "sandbox",
    "the sandbox (werkzeug, lark, trustme)",
    frozenset({"werkzeug", "lark", "trustme"}),
)
POSTGRES = Extra(
    "postgres",
    "the PostgreSQL support (psycopg, procrastinate)",
    frozenset({"psycopg", "procrastinate"}),
)


class MissingExtra(ConfigError):
    """A command or setting needs an optional part that is not installed: install its extra."""


@contextmanager
def needs(extra: Extra, *, setting: str | None = None) -> Iterator[None]:
    """Imports inside this block that fail for want of `extra` raise `MissingExtra` (exit 2 in
    the CLI) with the install command, prefixed by `setting` when one asked for it. Any other
    ImportError is a defect and passes through."""
    try:
        yield
    except ImportError as exc:
        if not extra.provides(exc):
            raise
        prefix = f"{setting}: " if setting else ""
        raise MissingExtra(prefix + extra.missing()) from None
