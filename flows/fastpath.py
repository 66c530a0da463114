"""`corpus add --now` through a running `corpus serve` (issue 20): no Prefect import, no temporary server.

When a Prefect server is up (PREFECT_API_URL, or the one `corpus serve` started for this home, named in
HOME/prefect/serve.json) and deployment ingest/corpus-ingest is served for this home, the run is handed to
it: a flow run is created from the deployment and the serving process, which keeps Prefect, GX, the rules
and the gazetteer loaded, runs it at once. This is what `prefect.deployments.run_deployment` does (create
the run from the deployment, poll it until final), spoken to the same REST API with the standard library:
importing Prefect's client alone takes longer than the whole hand-over. The summary is read back from the
run's row in the warehouse, as the local run would print it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

FLOW_NAME = "ingest"
DEPLOYMENT_NAME = "corpus-ingest"
SERVE_FILE = Path("prefect") / "serve.json"  # under the corpus home, while `corpus serve` runs
PICKUP_TIMEOUT = 15.0  # seconds a served deployment gets to start the run before we run it here ourselves
POLLED_WITHIN = 60.0  # a deployment whose runner polled longer ago than this is not being served
ANSWER_TIMEOUT = 5.0  # seconds a busy server gets to answer (a server that is down refuses at once)
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
ADD_TAG = "corpus-add"  # the tag of runs created here


class NoServer(Exception):
    """No running server serves this home's deployment: run locally instead (the message says why)."""


class ServedRunFailed(Exception):
    """The served run ended in a state other than Completed."""


def _call(api: str, method: str, path: str, body: Any = None, timeout: float = 5.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    # the API URL comes from PREFECT_API_URL or the serve.json corpus serve wrote: http(s) only
    req = urllib.request.Request(f"{api.rstrip('/')}{path}", data=data, method=method,  # noqa: S310
                                 headers={"Content-Type": "application/json"} if data is not None else {})
    key = os.environ.get("PREFECT_API_KEY", "").strip()
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - the configured Prefect API
        raw = resp.read()
    return json.loads(raw) if raw else None


def write_serve_file(home: Path, api_url: str, wake_port: int | None = None) -> Path:
    """Record, for `corpus add --now`, which API this home is served on, by which process, and the UDP port
    on 127.0.0.1 that wakes its runner (flows/serve.py) so a new run starts without waiting for a poll."""
    from warehouse.atomic import atomic_write  # only `corpus serve` writes it, with the warehouse loaded

    rec: dict[str, Any] = {"api_url": api_url, "pid": os.getpid()}
    if wake_port:
        rec["wake_port"] = wake_port
    return atomic_write(home / SERVE_FILE, json.dumps(rec), durable=False)


def wake_runner(port: int) -> None:
    """One datagram to the serving runner's wake-up port: look for due runs now (nothing if nobody listens)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"run", ("127.0.0.1", port))


def _wake_port(home: Path, api: str) -> int | None:
    """The wake-up port of the `corpus serve` that recorded `api` for this home, if it is still alive."""
    try:
        rec = json.loads((home / SERVE_FILE).read_text(encoding="utf-8"))
        if rec.get("api_url") == api and _alive(int(rec["pid"])):
            return int(rec["wake_port"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def remove_serve_file(home: Path) -> None:
    path = home / SERVE_FILE
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def candidate_apis(home: Path) -> list[str]:
    """APIs that may serve this home: PREFECT_API_URL first, then the one `corpus serve` recorded."""
    apis = []
    env = os.environ.get("PREFECT_API_URL", "").strip()
    if env:
        apis.append(env)
    try:
        rec = json.loads((home / SERVE_FILE).read_text(encoding="utf-8"))
        if _alive(int(rec["pid"])) and rec["api_url"] not in apis:
            apis.append(rec["api_url"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return apis


def _served_deployment(api: str, home: Path) -> dict[str, Any]:
    try:
        dep = _call(api, "GET", f"/deployments/name/{FLOW_NAME}/{DEPLOYMENT_NAME}", timeout=ANSWER_TIMEOUT)
    except urllib.error.HTTPError as exc:
        raise NoServer(f"{api} has no deployment {FLOW_NAME}/{DEPLOYMENT_NAME} ({exc.code})") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise NoServer(f"no Prefect server answers at {api} ({exc})") from None
    if dep.get("parameters") != {"home": str(home)}:
        raise NoServer(f"the deployment at {api} serves another home or inbox ({dep.get('parameters')})")
    polled = dep.get("last_polled")
    if dep.get("status") != "READY" or not polled:
        raise NoServer(f"nobody serves {FLOW_NAME}/{DEPLOYMENT_NAME} at {api} (status {dep.get('status')})")
    from datetime import UTC, datetime

    age = (datetime.now(UTC) - datetime.fromisoformat(polled.replace("Z", "+00:00"))).total_seconds()
    if age > POLLED_WITHIN:
        raise NoServer(f"the runner of {FLOW_NAME}/{DEPLOYMENT_NAME} at {api} last polled {age:.0f}s ago")
    return dep


def run_on_server(home: Path, poll: float = 0.05, pickup_timeout: float = PICKUP_TIMEOUT) -> dict[str, Any]:
    """Hand one ingest run of `home` to the server that serves it and wait for it; the run's summary.

    NoServer when nobody serves this home (nothing was started; run locally). ServedRunFailed when the
    served run did not complete.
    """
    reasons = []
    for api in candidate_apis(home):
        try:
            dep = _served_deployment(api, home)
        except NoServer as exc:
            reasons.append(str(exc))
            continue
        try:
            run = _call(api, "POST", f"/deployments/{dep['id']}/create_flow_run",
                        {"state": {"type": "SCHEDULED"}, "tags": [ADD_TAG]})
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reasons.append(f"could not create a run at {api} ({exc})")
            continue
        port = _wake_port(home, api)
        if port:
            wake_runner(port)  # the served runner starts it now rather than at its next poll
        started = time.monotonic()
        while True:
            time.sleep(poll)
            try:
                run = _call(api, "GET", f"/flow_runs/{run['id']}")
            except (urllib.error.URLError, OSError, ValueError) as exc:
                raise ServedRunFailed(f"the Prefect server at {api} went away while it ran {run['name']} "
                                      f"({exc}); the next run finishes the job from the inbox") from None
            kind = (run.get("state") or {}).get("type")
            if kind in FINAL:
                break
            if kind == "SCHEDULED" and time.monotonic() - started > pickup_timeout:
                # nobody took it: cancel it so it never runs twice, and run here instead
                _call(api, "POST", f"/flow_runs/{run['id']}/set_state",
                      {"state": {"type": "CANCELLED", "message": "not picked up; ran locally"}, "force": True})
                raise NoServer(f"the served deployment at {api} did not start the run within {pickup_timeout:.0f}s")
        state = run["state"]
        if state["type"] != "COMPLETED":
            raise ServedRunFailed(f"the served run {run['name']} ended {state.get('name')}: {state.get('message')}")
        summary = served_summary(home, run["id"]) or summary_from_warehouse(home, run["id"])
        summary["served_by"] = {"api_url": api, "flow_run": run["name"],
                                "infrastructure_pid": run.get("infrastructure_pid")}
        return summary
    raise NoServer("; ".join(reasons) or "no Prefect server configured")


SUMMARIES = Path("prefect") / "summaries"  # under the corpus home: the summary of each run `corpus add` handed over
SUMMARY_WAIT = 1.0  # seconds the summary file gets to appear after the run is Completed, before the warehouse


def summary_path(home: Path, run_id: str) -> Path:
    return home / SUMMARIES / f"{run_id}.json"


def write_summary(home: Path, run_id: str, summary: dict[str, Any]) -> None:
    """In the serving process, right after the run: its summary, for the `corpus add --now` waiting for it."""
    from warehouse.atomic import atomic_write  # the serving process has the warehouse loaded already

    atomic_write(summary_path(home, run_id), json.dumps(summary, default=str), durable=False)


def served_summary(home: Path, run_id: str, wait: float = SUMMARY_WAIT) -> dict[str, Any] | None:
    """The summary the serving process wrote for a completed run (and the file is removed); None when it did
    not appear within `wait` seconds: then it is read from the warehouse, which takes a DuckDB and DuckLake
    start-up in this process."""
    path = summary_path(home, run_id)
    deadline = time.monotonic() + wait
    while True:
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)
            continue
        path.unlink(missing_ok=True)
        return summary if isinstance(summary, dict) and summary.get("run_id") == run_id else None


def summary_from_warehouse(home: Path, run_id: str) -> dict[str, Any]:
    """A run's summary as `corpus ingest` prints it, from its row in the warehouse."""
    from warehouse import connect_readonly

    con = connect_readonly(str(home))
    try:
        row = con.execute("SELECT n_seen, n_new, n_duplicate, n_quarantined, stage_seconds FROM runs "
                          "WHERE run_id = ?", [run_id]).fetchone()
        reasons = dict(con.execute("SELECT reason, count(*) FROM quarantine WHERE run_id = ? GROUP BY reason",
                                   [run_id]).fetchall())
    finally:
        con.close()
    if row is None:
        raise ServedRunFailed(f"the served run {run_id} left no row in the warehouse")
    n_seen, n_new, n_dup, n_q, stages = row
    return {"run_id": run_id, "home": str(home), "n_seen": n_seen, "n_new": n_new, "n_duplicate": n_dup,
            "n_quarantined": n_q, "quarantined_by_reason": reasons, "stage_seconds": json.loads(stages or "{}")}
