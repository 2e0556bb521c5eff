"""The one base of every model a mapping file is read into (lead, status, conversion, routing).

An unknown key is an error, not a silent default (the loader turns it into `file:line:col:
unknown key 'x'; did you mean 'y'?`), and a loaded file is frozen: the code that reads it
cannot change what the admin wrote. A key that is a Python keyword has a field of another name
with the key as its alias (`in_` for `in`, `global_policy` for `global`); code may build a
model by either.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A part of a mapping file: unknown keys refused, frozen once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
