"""The CSV of Bulk API 2.0 jobs: reading an upload under the job's declared column delimiter and
line ending, and writing result sets in the same dialect.

Rules followed (Bulk API 2.0 and Bulk API Developer Guide, "Prepare CSV Files", "Sample CSV
Files", "Valid Date Format in Records (2.0)",
https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/datafiles_prepare_data.htm):

- UTF-8; the first row names the fields; a value holding the delimiter, a quote or a line break
  is enclosed in double quotes, a quote inside one doubled.
- The declared `lineEnding` (LF or CRLF) must be the data's: a mismatch fails the whole job with
  `ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF` (the
  message clients report, e.g. salesforcecli troubleshooting notes; no record is written).
- An empty cell leaves the field as it is; `#N/A` sets it to null.
- Result files (`successfulResults/`, `failedResults/`, `unprocessedrecords/`, query `results`)
  quote every value, as the documented examples do (`"Id","Name"` /
  `"005R0000000UyrWIAS","Jane Dunn"`, Get Results for a Query Job), and use the job's delimiter
  and line ending.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: `columnDelimiter` values and their characters (Create a Job, request body).
DELIMITERS: dict[str, str] = {
    "BACKQUOTE": "`",
    "CARET": "^",
    "COMMA": ",",
    "PIPE": "|",
    "SEMICOLON": ";",
    "TAB": "\t",
}
#: `lineEnding` values and their characters.
LINE_ENDINGS: dict[str, str] = {"LF": "\n", "CRLF": "\r\n"}
#: The cell value that sets a field to null ("Prepare CSV Files": use #N/A to set a field null).
NULL = "#N/A"


class CsvError(Exception):
    """Job data Salesforce cannot read: the job fails with this as its `errorMessage`."""


@dataclass(frozen=True)
class Table:
    """An upload: its header as given, and its data rows (each as long as the header)."""

    header: list[str]
    rows: list[list[str]]


def _check_line_ending(text: str, line_ending: str) -> None:
    crlf = text.count("\r\n")
    lf = text.count("\n")
    wrong = crlf > 0 if line_ending == "LF" else lf > crlf
    if wrong:
        msg = (
            "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting "
            f"is {line_ending}"
        )
        raise CsvError(msg)


def parse(data: bytes, column_delimiter: str, line_ending: str) -> Table:
    """The header and rows of an upload; `CsvError` (the job's errorMessage) when it is not
    UTF-8, its line ending is not the declared one, or a row does not fit the header.

    Blank lines are skipped. A row with more or fewer values than the header fails the job
    (the sandbox's choice: what Salesforce answers is unconfirmed).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"ClientInputError : The data is not valid UTF-8 (byte {exc.start})"
        raise CsvError(msg) from None
    _check_line_ending(text, line_ending)
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=DELIMITERS[column_delimiter], strict=True
    )
    try:
        lines = [row for row in reader if row]
    except csv.Error as exc:
        msg = f"ClientInputError : Malformed CSV at line {reader.line_num}: {exc}"
        raise CsvError(msg) from None
    if not lines:
        return Table([], [])
    header, rows = lines[0], lines[1:]
    for number, row in enumerate(rows, start=1):
        if len(row) != len(header):
            msg = (
                f"ClientInputError : Row {number} has {len(row)} values; the header names "
                f"{len(header)} fields"
            )
            raise CsvError(msg)
    return Table(header, rows)


def write(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    column_delimiter: str,
    line_ending: str,
) -> str:
    """A result file: every value quoted, in the job's delimiter and line ending."""
    out = io.StringIO()
    writer = csv.writer(
        out,
        delimiter=DELIMITERS[column_delimiter],
        lineterminator=LINE_ENDINGS[line_ending],
        quoting=csv.QUOTE_ALL,
    )
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
