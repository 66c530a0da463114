"""`corpus serve`: the ingest flow as a Prefect deployment on a cron schedule.

A schedule never fires on Prefect's ephemeral server, so with no `PREFECT_API_URL` we start a real
`prefect server start` (SQLite and PREFECT_HOME under CORPUS_HOME/prefect/) for as long as we serve.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.settings import Settings
from transforms.errors import CorpusError, UserError
from transforms.telemetry import ANALYTICS_OFF
from warehouse.paths import resolve_home

FLOW_NAME = "ingest"
DEPLOYMENT_NAME = "corpus-ingest"
DEFAULT_CRON = "*/15 * * * *"
DEFAULT_PORT = 4200  # Prefect's own default, so a bookmarked UI keeps working; any free port if taken
HOST = "127.0.0.1"
START_TIMEOUT = 60.0  # seconds to wait for /api/health; Settings.server_start_timeout (CORPUS_SERVER_START_TIMEOUT)
DRAIN_TIMEOUT = 60.0  # seconds a run in progress gets to finish after Ctrl-C/SIGTERM before it is stopped
STOP_TIMEOUT = 15.0  # seconds the server gets to exit after SIGINT before SIGTERM, then SIGKILL


class ServerStartError(CorpusError):
    """The local Prefect server did not become healthy; the message carries its log tail."""


def validate_cron(expr: str) -> str:
    """The cron expression, stripped, if Prefect's scheduler accepts it; UserError says why not."""
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    expr = (expr or "").strip()
    try:
        # the same validation the server applies, so an accepted expression is one Prefect will schedule
        CronSchedule(cron=expr)
    except ValidationError as exc:
        why = "; ".join(str(e.get("msg", e)) for e in exc.errors())
        raise UserError(
            f"invalid cron expression {expr!r} ({why}). Use five fields 'minute hour day-of-month month "
            f"day-of-week', e.g. '{DEFAULT_CRON}' for every 15 minutes or '0 6 * * *' for 06:00 daily."
        ) from None
    return expr


def port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST) -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _choose_port(port: int | None) -> int:
    if port is None:
        return DEFAULT_PORT if port_is_free(DEFAULT_PORT) else free_port()
    if not 0 < port < 65536:
        raise UserError(f"--port must be between 1 and 65535, not {port}")
    if not port_is_free(port):
        raise UserError(f"port {port} on {HOST} is already in use; pick another with --port or leave it out")
    return port


def _health_ok(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as resp:  # noqa: S310 - our own URL
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _answers(api_url: str, timeout: float = 5.0) -> bool:
    """Whether anything answers HTTP at the API URL (a 401 from a server that wants a key counts)."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout):  # noqa: S310
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:]) or "(server log is empty)"


def _own_session_with_sigint() -> None:
    """In the server child: a session of its own, so Ctrl-C in the terminal reaches only us and we stop
    the whole group ourselves; and SIGINT back to default, since we stop it with SIGINT even when our
    shell started us with SIGINT ignored (`corpus serve &` in a script)."""
    os.setsid()
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class LocalServer:
    """A `prefect server start` subprocess on 127.0.0.1 with its state under one folder."""

    state_dir: Path
    port: int
    host: str = HOST
    stop_timeout: float = STOP_TIMEOUT
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "server.log"

    def env(self) -> dict[str, str]:
        """The server's environment: its own PREFECT_HOME and SQLite file, no analytics, no outside API."""
        env = dict(os.environ)
        env.pop("PREFECT_API_URL", None)
        env.update({
            "PREFECT_HOME": str(self.state_dir),
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{self.state_dir / 'prefect.db'}",
            **ANALYTICS_OFF,
            "PREFECT_SERVER_API_HOST": self.host,
            "PREFECT_SERVER_API_PORT": str(self.port),
        })
        env.pop("PREFECT_API_DATABASE_CONNECTION_URL", None)  # the older name would override ours
        return env

    def command(self) -> list[str]:
        return [sys.executable, "-m", "prefect", "server", "start", "--host", self.host, "--port", str(self.port),
                "--analytics-off"]

    def start(self, timeout: float = START_TIMEOUT) -> LocalServer:
        """Start the server and block until /api/health answers; ServerStartError with the log tail if not."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command(), env=self.env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_own_session_with_sigint,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise ServerStartError(
                    f"the Prefect server exited with code {code} before it was healthy "
                    f"(log {self.log_path}):\n{_tail(self.log_path)}")
            if _health_ok(self.api_url):
                return self
            time.sleep(0.5)
        self.stop()
        raise ServerStartError(
            f"the Prefect server did not answer {self.api_url}/health within {timeout:.0f}s "
            f"(log {self.log_path}):\n{_tail(self.log_path)}")

    def stop(self) -> int | None:
        """Interrupt the server's process group, wait, then SIGTERM and SIGKILL if it lingers; its exit code."""
        proc, self.process = self.process, None
        if proc is None:
            return None
        timeout = self.stop_timeout
        # SIGINT, as Ctrl-C would: `prefect server start` shuts down cleanly on it (exit 0, SQLite checkpointed)
        # but dies at once on SIGTERM, leaving the WAL behind.
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, min(5.0, timeout)), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        with suppress(ProcessLookupError):  # anything the server started and left behind in its group
            os.killpg(proc.pid, signal.SIGKILL)
        try:
            return proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            return None

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class _Stop(BaseException):
    """Raised from our SIGTERM handler so `finally` blocks run before the process exits."""


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop()


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Turn SIGTERM into an exception, except while Prefect's runner has its own handler (it calls sys.exit)."""
    try:
        old = signal.signal(signal.SIGTERM, _raise_stop)
    except ValueError:  # not the main thread: signals are not ours to handle
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def deployment_parameters(home: str | None, inbox: str | None) -> dict[str, Any]:
    """The flow parameters every scheduled run gets: absolute paths, so the runner's cwd does not matter."""
    params: dict[str, Any] = {"home": str(resolve_home(home))}
    if inbox:
        path = Path(inbox).expanduser().resolve()
        if not path.is_dir():
            raise UserError(f"inbox {inbox} is not a folder")
        params["inbox"] = str(path)
    return params


def serve_deployment(cron: str, parameters: dict[str, Any], api_url: str | None = None) -> None:
    """Serve the ingest flow as deployment ingest/corpus-ingest against `api_url` until stopped."""
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.types.entrypoint import EntrypointType

    from flows.ingest import ingest_flow

    updates = {PREFECT_API_URL: api_url} if api_url else {}
    # Prefect 3.8's runner answers SIGTERM by calling its async stop() without awaiting it; the shutdown
    # still happens (it then calls sys.exit), so the warning is noise
    warnings.filterwarnings("ignore", message="coroutine 'Runner.astop' was never awaited", category=RuntimeWarning)
    with temporary_settings(updates=updates):
        ingest_flow.serve(
            name=DEPLOYMENT_NAME, cron=cron, parameters=parameters,
            description="Ingest whatever is in the corpus inbox, on a schedule (corpus serve).",
            tags=["corpus"],
            # a module path, not a file path: flow runs then import the installed package from any cwd
            entrypoint_type=EntrypointType.MODULE_PATH,
        )


def serve(home: str | None, cron: str = DEFAULT_CRON, inbox: str | None = None, port: int | None = None,
          echo: Callable[[str], None] = print, drain_timeout: float = DRAIN_TIMEOUT) -> None:
    """Serve the ingest flow on `cron`; start (and later stop) a local Prefect server when none is configured."""
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

    from flows.guard import guard_children

    cron = validate_cron(cron)
    params = deployment_parameters(home, inbox)
    # the local server runs in a session of its own and flow runs are spawned children: after kill -9 of
    # this process, the guard's watchdog ends every process that inherited its token (issue 17)
    guard_children()
    watchdog: _ServerWatchdog | None = None
    with _sigterm_raises():
        try:
            api_url = PREFECT_API_URL.value()
            if api_url:
                if not _answers(api_url):
                    raise ServerStartError(
                        f"PREFECT_API_URL={api_url} does not answer. Start that server (e.g. `make server`), "
                        "or unset PREFECT_API_URL and corpus serve starts one of its own.")
                echo(f"Serving {FLOW_NAME}/{DEPLOYMENT_NAME} on '{cron}' against PREFECT_API_URL={api_url}")
                echo(f"Prefect UI: {PREFECT_UI_URL.value() or api_url.removesuffix('/api')}")
                _serve_until_stopped(cron, params, None, echo, drain_timeout)
                return
            state_dir = Path(params["home"]) / "prefect"
            server = LocalServer(state_dir, _choose_port(port))
            echo(f"Starting a local Prefect server on {server.ui_url} (state in {state_dir}) ...")
            with server:
                server.start(Settings.from_env(home).server_start_timeout)
                echo(f"Prefect UI: {server.ui_url}   API: {server.api_url}")
                echo(f"Serving {FLOW_NAME}/{DEPLOYMENT_NAME} on '{cron}' with home {params['home']}. "
                     "Ctrl-C stops the runner and the server.")
                watchdog = _ServerWatchdog(server)
                watchdog.start()
                _serve_until_stopped(cron, params, server.api_url, echo, drain_timeout)
                echo("Stopping the Prefect server ...")
        except _Stop:
            echo("SIGTERM received; stopped.")
    if watchdog is not None and watchdog.exit_code is not None:
        raise ServerStartError(
            f"the Prefect server exited on its own with code {watchdog.exit_code}, so serving stopped "
            f"(log {watchdog.server.log_path}):\n{_tail(watchdog.server.log_path)}")


class _ServerWatchdog(threading.Thread):
    """Stops serving (as SIGTERM would) when the local server dies under the runner, instead of the
    runner polling a dead API for ever."""

    def __init__(self, server: LocalServer) -> None:
        super().__init__(name="prefect-server-watchdog", daemon=True)
        self.server = server
        self.exit_code: int | None = None

    def run(self) -> None:
        proc = self.server.process
        if proc is None:
            return
        while proc.poll() is None:
            if self.server.process is not proc:  # we are stopping it ourselves
                return
            time.sleep(1.0)
        if self.server.process is proc:
            self.exit_code = proc.returncode
            os.kill(os.getpid(), signal.SIGTERM)


def _serve_until_stopped(cron: str, params: dict[str, Any], api_url: str | None, echo: Callable[[str], None],
                         drain_timeout: float) -> None:
    try:
        serve_deployment(cron, params, api_url)
    except SystemExit as exc:
        # Prefect's runner answers SIGTERM with sys.exit(0) after pausing the schedule; that is a clean stop
        if exc.code not in (0, None):
            raise
    except KeyboardInterrupt:
        pass
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _raise_stop)  # the runner's handler would try to stop it again
        drain_flow_runs(drain_timeout, echo)


def drain_flow_runs(timeout: float, echo: Callable[[str], None] = print) -> int:
    """Let flow runs still in progress finish while the server can record them; stop any that outlast `timeout`.

    Prefect 3.8's runner starts each flow run as a spawned child process and leaves it running when it
    stops. If the server went away first, the run would hang at its end retrying the API, and so would
    we (multiprocessing joins children at exit). Returns how many runs had to be stopped.
    """
    runs = multiprocessing.active_children()
    if not runs:
        return 0
    echo(f"Waiting up to {timeout:.0f}s for {len(runs)} ingest run(s) in progress to finish "
         "(Ctrl-C or SIGTERM again stops them now) ...")
    try:
        deadline = time.monotonic() + timeout
        for proc in runs:
            proc.join(max(0.0, deadline - time.monotonic()))
    except (KeyboardInterrupt, _Stop):
        pass
    left = [p for p in runs if p.is_alive()]
    # SIGTERM: Prefect marks the run crashed and the flow records it as failed; landing is atomic per batch,
    # so the next run finishes the job from the inbox and the archive
    for proc in left:
        proc.terminate()
    for proc in left:
        proc.join(15.0)
        if proc.is_alive():
            proc.kill()
            proc.join(5.0)
    if left:
        echo(f"Stopped {len(left)} unfinished ingest run(s); the next run picks up what they left.")
    return len(left)
