"""Raw Bulk API 2.0 calls against the sandbox, so tests see statuses, headers and bodies exactly."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import requests

from connector.sandbox.server import SandboxServer
from tests.conftest import sf_token

V = "/services/data/v59.0"
TERMINAL = ("JobComplete", "Failed", "Aborted")


class BulkApi:
    """Calls as the integration user (or `username`) with a session token of its own."""

    def __init__(self, server: SandboxServer, username: str = "integration@sandbox.local") -> None:
        self.server = server
        self.username = username
        self.token = sf_token(server, username)["access_token"]

    def login(self) -> None:
        self.token = sf_token(self.server, self.username)["access_token"]

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> requests.Response:
        url = path if path.startswith("http") else f"{self.server.url}{path}"
        return requests.request(
            method,
            url,
            json=json,
            data=data.encode("utf-8") if isinstance(data, str) else data,
            params=params,
            headers={"Authorization": f"Bearer {self.token}", **(headers or {})},
            verify=str(self.server.ca_file),
            timeout=60,
        )

    # -- ingest -------------------------------------------------------------------------------
    def create(self, **body: Any) -> dict[str, Any]:
        response = self.call("POST", f"{V}/jobs/ingest", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def upload(self, job_id: str, data: str | bytes) -> requests.Response:
        return self.call(
            "PUT",
            f"{V}/jobs/ingest/{job_id}/batches",
            data=data,
            headers={"Content-Type": "text/csv"},
        )

    def set_state(self, job_id: str, state: str, kind: str = "ingest") -> requests.Response:
        return self.call("PATCH", f"{V}/jobs/{kind}/{job_id}", json={"state": state})

    def info(self, job_id: str, kind: str = "ingest") -> dict[str, Any]:
        response = self.call("GET", f"{V}/jobs/{kind}/{job_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def wait(
        self, job_id: str, kind: str = "ingest", states: tuple[str, ...] = TERMINAL
    ) -> dict[str, Any]:
        """The job's info once its state is one of `states` (60 s at most)."""
        deadline = time.monotonic() + 60
        while True:
            info = self.info(job_id, kind)
            if info["state"] in states:
                return info
            assert time.monotonic() < deadline, f"job {job_id} still {info['state']}"
            time.sleep(0.02)

    def run(self, data: str | bytes, **job: Any) -> dict[str, Any]:
        """Create a job, upload `data`, close it and wait until it is done: its final info."""
        created = self.create(**{"contentType": "CSV", **job})
        uploaded = self.upload(created["id"], data)
        assert uploaded.status_code == 201, uploaded.text
        closed = self.set_state(created["id"], "UploadComplete")
        assert closed.status_code == 200, closed.text
        return self.wait(created["id"])

    def results(self, job_id: str, which: str) -> requests.Response:
        return self.call("GET", f"{V}/jobs/ingest/{job_id}/{which}/")

    def rows(self, job_id: str, which: str, delimiter: str = ",") -> list[dict[str, str]]:
        response = self.results(job_id, which)
        assert response.status_code == 200, response.text
        return read_csv(response.text, delimiter)

    # -- query --------------------------------------------------------------------------------
    def query(self, soql: str, operation: str = "query", **options: Any) -> dict[str, Any]:
        response = self.call(
            "POST", f"{V}/jobs/query", json={"operation": operation, "query": soql, **options}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def query_results(self, job_id: str, **params: Any) -> requests.Response:
        return self.call("GET", f"{V}/jobs/query/{job_id}/results", params=params or None)

    def history(self, job_id: str) -> dict[str, Any]:
        response = requests.get(
            f"{self.server.url}/_sandbox/bulk2/jobs/{job_id}",
            verify=str(self.server.ca_file),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def fault(self, **spec: Any) -> None:
        response = requests.post(
            f"{self.server.url}/_sandbox/bulk2/faults",
            json=spec,
            verify=str(self.server.ca_file),
            timeout=30,
        )
        assert response.status_code == 201, response.text

    def clear_faults(self) -> None:
        response = requests.delete(
            f"{self.server.url}/_sandbox/bulk2/faults", verify=str(self.server.ca_file), timeout=30
        )
        assert response.status_code == 204, response.text


def read_csv(text: str, delimiter: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


def lead_csv(rows: list[dict[str, str]], columns: list[str], *, delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([[row.get(c, "") for c in columns] for row in rows])
    return out.getvalue()
