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
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.fastpath import ADD_TAG, remove_serve_file, wake_runner, write_serve_file, write_summary
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


def validate_runner(runner: str | None) -> str | None:
    """`corpus serve --runner`, lower-cased, or None (Prefect's thread runner); UserError for an unknown name,
    before any server starts."""
    from flows.runners import RunnerError, runner_name

    try:
        return runner_name(runner)
    except RunnerError as exc:
        raise UserError(str(exc)) from None


def deployment_parameters(home: str | None, inbox: str | None) -> dict[str, Any]:
    """The flow parameters every scheduled run gets: absolute paths, so the runner's cwd does not matter."""
    params: dict[str, Any] = {"home": str(resolve_home(home))}
    if inbox:
        path = Path(inbox).expanduser().resolve()
        if not path.is_dir():
            raise UserError(f"inbox {inbox} is not a folder")
        params["inbox"] = str(path)
    return params


POLL_SECONDS = 0.5  # how often the serving process asks the server for due runs; CORPUS_SERVE_POLL overrides
SERVE_MARK = "corpus-serve"  # infrastructure_pid of a run executed by `corpus serve`: "corpus-serve:HOST:PID"


def _poll_seconds() -> float:
    return Settings.from_env().serve_poll


class InProcessRunner(threading.Thread):
    """Executes the deployment's flow runs one after another in this long-lived process (issue 20).

    Prefect's own `flow.serve` starts a new Python process per run: every run then pays the imports
    (Prefect, GX), the GX context and the gazetteer and rules again. Here one thread polls the server for
    the deployment's due runs, claims each (Pending, so no other runner takes it), records this process as
    the run's infrastructure, and runs it with Prefect's flow engine: the caches in flows.ingest (rules,
    gazetteer and linker) and the GX context stay loaded from one run to the next.
    """

    def __init__(self, deployment_id: Any, poll: float, echo: Callable[[str], None] = print,
                 runner: str | None = None) -> None:
        super().__init__(name="corpus-flow-runs", daemon=True)
        self.deployment_id = deployment_id
        self.poll = poll
        self.echo = echo
        self.runner = runner  # `corpus serve --runner`: thread (None), process, dask or auto
        self.stopping = threading.Event()
        # `corpus add --now` sends a datagram here right after it created a run (its port is in serve.json):
        # the run starts at once instead of at the next poll; any datagram just means "look now"
        self._wake = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._wake.bind((HOST, 0))
        self.wake_port: int = self._wake.getsockname()[1]
        self.current: Any = None  # the flow run in progress, if any
        self._flow: Any = None
        self.n_runs = 0
        self.error: BaseException | None = None
        self.done = threading.Event()  # set when the thread ends

    def warm_up(self) -> None:
        """Load what every run needs once: Prefect's flow engine, GX and its context, rules and gazetteer."""
        import prefect.flow_engine  # noqa: F401 - imported once here rather than inside the first run

        from expectations import gx_context
        from flows.ingest import _import_gx, check_data_files
        from flows.settings import Settings

        gx_context()
        _import_gx()  # and the language model, FastAPI: what the first run would load on the way
        with suppress(Exception):  # a broken data file is reported by the run itself, with file and line
            check_data_files(Settings.from_env())

    def run(self) -> None:
        try:
            t = time.monotonic()
            self.warm_up()
            self.echo(f"Ready: Prefect's engine, GX, rules and gazetteer loaded in {time.monotonic() - t:.1f}s")
            while not self.stopping.is_set():
                if not self._run_due():
                    self._sleep()
        except BaseException as exc:  # noqa: BLE001 - reported by serve(); this thread must not die silently
            self.error = exc
        finally:
            self._wake.close()
            self.done.set()

    def _sleep(self) -> None:
        """Wait `poll` seconds, or less when woken (wake()); then drop any other wake-ups sent meanwhile."""
        self._wake.settimeout(self.poll)
        try:
            self._wake.recv(64)
            self._wake.setblocking(False)
            while True:
                self._wake.recv(64)
        except OSError:  # the timeout, or nothing more to read
            pass

    def wake(self) -> None:
        """Look for due runs now (as `corpus add --now` asks through the datagram port)."""
        wake_runner(self.wake_port)

    def stop(self) -> None:
        self.stopping.set()
        self.wake()

    def _run_due(self) -> bool:
        """Run every due flow run of the deployment; whether there was one."""
        import datetime as dt

        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            due = client.get_scheduled_flow_runs_for_deployments(
                deployment_ids=[self.deployment_id], scheduled_before=dt.datetime.now(dt.UTC))
        ran = False
        # Prefect's DateTime values compare; typeshed cannot see it through the Optional
        for run in sorted(due, key=lambda r: r.expected_start_time or r.created):  # type: ignore[arg-type,return-value]
            if self.stopping.is_set():
                break
            ran = self._execute(run.id) or ran
        return ran

    def _execute(self, flow_run_id: Any) -> bool:
        from prefect.client.orchestration import get_client
        from prefect.exceptions import Abort
        from prefect.flow_engine import run_flow
        from prefect.settings import temporary_settings
        from prefect.states import Pending
        from prefect.utilities.engine import propose_state_sync

        from flows.ingest import ingest_flow
        from flows.ops import flow_on_runner

        with get_client(sync_client=True) as client:
            try:
                state = propose_state_sync(client, Pending(), flow_run_id=flow_run_id)
            except Abort:
                return False  # another runner took it
            if not state.is_pending():
                return False
            client.update_flow_run(flow_run_id, infrastructure_pid=f"{SERVE_MARK}:{socket.gethostname()}:{os.getpid()}")
            flow_run = client.read_flow_run(flow_run_id)
        self.current = flow_run
        try:
            self.echo(f"Running flow run {flow_run.name} ({flow_run.id}) in this process")
            # run_flow is typed for flows that return a State; return_type="state" gives ours one
            if self._flow is None:  # the ingest flow, handing its summary to `corpus add --now` on completion
                self._flow = ingest_flow.with_options(
                    on_completion=[*ingest_flow.on_completion_hooks, _summary_for_corpus_add])
            settings = Settings.from_env(home=(flow_run.parameters or {}).get("home"))
            choice = self.choose_runner(flow_run, settings)
            if choice is None:  # no --runner: Prefect's threads, and no line to say so
                on_runner: Any = nullcontext(self._flow)
            else:
                self.echo(f"Flow run {flow_run.name} runner: {choice.name}"
                          f"{f' ({choice.workers} workers)' if choice.workers else ''} - {choice.reason}")
                on_runner = flow_on_runner(self._flow, choice, settings)
            with temporary_settings(updates=run_settings(flow_run)), on_runner as flow:
                state = run_flow(flow, flow_run=flow_run, return_type="state")  # type: ignore[arg-type,assignment]
            self.n_runs += 1
            self.echo(f"Flow run {flow_run.name} finished: {getattr(state, 'name', state)}")
        except BaseException as exc:  # noqa: BLE001 - the engine recorded the failure on the run
            self.echo(f"Flow run {flow_run.name} failed: {type(exc).__name__}: {exc}")
        finally:
            self.current = None
        return True

    def choose_runner(self, flow_run: Any, settings: Settings) -> Any:
        """The runner for one served run (flows/runners.py), or None for Prefect's thread runner with no line
        to say so (no --runner given). A run `corpus add --now` waits for always takes the thread runner: it
        holds a few articles, and worker processes would take longer to start than the run. The process
        runner's workers live for the one run (`flows.ops.flow_on_runner`)."""
        from flows.runners import RunnerChoice, choose_runner, estimate_articles
        from warehouse.paths import HomeLayout

        if self.runner is None:
            return None
        if ADD_TAG in (flow_run.tags or ()):
            return RunnerChoice("thread", 0, "a `corpus add --now` run: a few articles, no workers to start")
        params = flow_run.parameters or {}
        inbox = Path(params["inbox"]) if params.get("inbox") else HomeLayout(settings.home).inbox
        return choose_runner(self.runner, estimate_articles(inbox), settings.batch_size)

    def crash_current(self, message: str) -> None:
        """Mark the run still in progress as crashed (we are exiting under it)."""
        run = self.current
        if run is None:
            return
        from prefect.client.orchestration import get_client
        from prefect.states import Crashed

        with suppress(Exception), get_client(sync_client=True) as client:
            client.set_flow_run_state(run.id, Crashed(message=message), force=True)


def run_settings(flow_run: Any) -> dict[Any, Any]:
    """Prefect settings for one served run. Prefect's heartbeat thread sleeps in 1 s steps and the end of a
    run waits for it (0.5 s on average): a run `corpus add --now` waits for goes without heartbeats (nothing
    acts on them unless an automation is set up for crashed runs; scheduled runs keep them)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    return {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None} if ADD_TAG in (flow_run.tags or ()) else {}


def _summary_for_corpus_add(flow: Any, flow_run: Any, state: Any) -> None:
    """On completion of a run `corpus add --now` created and waits for: the flow's summary in a file it reads,
    written as soon as the run is Completed (before Prefect's engine winds down, up to a second later)."""
    if ADD_TAG in (flow_run.tags or ()):
        write_summary(Path(flow_run.parameters["home"]), str(flow_run.id), state.result())


def apply_deployment(cron: str, parameters: dict[str, Any]) -> Any:
    """Create or update deployment ingest/corpus-ingest (schedule, parameters); its id."""
    from prefect.types.entrypoint import EntrypointType

    from flows.ingest import ingest_flow

    deployment = ingest_flow.to_deployment(
        name=DEPLOYMENT_NAME, cron=cron, parameters=parameters,
        description="Ingest whatever is in the corpus inbox, on a schedule (corpus serve).",
        tags=["corpus"],
        # a module path, not a file path: any runner imports the installed package from any cwd
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    return deployment.apply()  # type: ignore[union-attr]  # sync_compatible: called from sync code, no coroutine


def serve_deployment(cron: str, parameters: dict[str, Any], api_url: str | None = None,
                     echo: Callable[[str], None] = print, drain_timeout: float = DRAIN_TIMEOUT,
                     runner_name: str | None = None) -> None:
    """Serve ingest/corpus-ingest against `api_url` until SIGTERM/Ctrl-C, running flow runs in this process."""
    import contextvars

    from prefect.settings import PREFECT_API_URL, temporary_settings

    updates = {PREFECT_API_URL: api_url} if api_url else {}
    with temporary_settings(updates=updates):
        deployment_id = apply_deployment(cron, parameters)
        runner = InProcessRunner(deployment_id, _poll_seconds(), echo, runner=runner_name)
        if api_url:  # our own server: `corpus add --now` finds it, and the runner's wake-up port, in serve.json
            write_serve_file(Path(parameters["home"]), api_url, runner.wake_port)
        ctx = contextvars.copy_context()  # the thread sees the same Prefect settings (API URL)
        runner.run = lambda _run=runner.run: ctx.run(_run)  # type: ignore[method-assign,misc]  # run inside ctx
        runner.start()
        echo(f"Runs execute in this process (pid {os.getpid()}); polling every {runner.poll:g}s.")
        # Thread.join is never called here: a signal handler raising inside join() (our SIGTERM, Ctrl-C)
        # makes Python 3.11 take the thread for finished while it still runs (bpo-45274)
        try:
            while not runner.done.wait(1.0):
                pass
        except (KeyboardInterrupt, _Stop):
            pass
        finally:
            runner.stop()
            _pause_schedules(deployment_id)
            if runner.current is not None:
                echo(f"Waiting up to {drain_timeout:.0f}s for 1 ingest run(s) in progress to finish "
                     "(Ctrl-C or SIGTERM again stops it now) ...")
                deadline = time.monotonic() + drain_timeout
                try:
                    while runner.current is not None and time.monotonic() < deadline:
                        time.sleep(0.2)
                except (KeyboardInterrupt, _Stop):
                    pass
                if runner.current is not None:
                    runner.crash_current("corpus serve stopped before the run finished")
                    abandoned_runs.append(str(runner.current.id))
                    echo("Stopped 1 unfinished ingest run(s); the next run picks up what they left.")
    if runner.error is not None and not isinstance(runner.error, (KeyboardInterrupt, _Stop)):
        raise runner.error


abandoned_runs: list[str] = []  # runs left in progress at stop: their threads must not hold up our exit


def _pause_schedules(deployment_id: Any) -> None:
    """As Prefect's runner does on stop: no schedule fires while nobody serves the deployment."""
    from prefect.client.orchestration import get_client

    with suppress(Exception), get_client(sync_client=True) as client:
        deployment = client.read_deployment(deployment_id)
        for schedule in deployment.schedules or []:
            client.update_deployment_schedule(deployment_id, schedule.id, active=False)


def serve(home: str | None, cron: str = DEFAULT_CRON, inbox: str | None = None, port: int | None = None,
          echo: Callable[[str], None] = print, drain_timeout: float = DRAIN_TIMEOUT, runner: str | None = None) -> None:
    """Serve the ingest flow on `cron`; start (and later stop) a local Prefect server when none is configured.
    `runner` (thread, process, dask or auto) is where scheduled runs clean and link; None: Prefect's threads."""
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

    from flows.guard import guard_children

    cron = validate_cron(cron)
    runner = validate_runner(runner)
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
                # `corpus add --now` finds this server through PREFECT_API_URL (no serve.json: the home keeps
                # no Prefect state when the server is someone else's)
                _serve_until_stopped(cron, params, None, echo, drain_timeout, runner)
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
                try:  # serve_deployment writes serve.json (for `corpus add --now`) once the runner is made
                    _serve_until_stopped(cron, params, server.api_url, echo, drain_timeout, runner)
                finally:
                    remove_serve_file(Path(params["home"]))
                    _flush_to_server()
                echo("Stopping the Prefect server ...")
        except _Stop:
            echo("SIGTERM received; stopped.")
    if abandoned_runs:
        # the abandoned run's threads (Prefect's task runner) would keep the interpreter from exiting
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0 if watchdog is None or watchdog.exit_code is None else 1)
    if watchdog is not None and watchdog.exit_code is not None:
        raise ServerStartError(
            f"the Prefect server exited on its own with code {watchdog.exit_code}, so serving stopped "
            f"(log {watchdog.server.log_path}):\n{_tail(watchdog.server.log_path)}")


FLUSH_TIMEOUT_S = 10.0


def _flush_to_server(timeout: float = FLUSH_TIMEOUT_S) -> None:
    """Send the runs' queued logs and events while our server still answers.

    The in-process runs leave Prefect's log and event workers with queued items; drained at interpreter
    exit, after the server has stopped, they retried a dead API for about a minute ("Error logging to
    API") and `corpus serve` took that long to stop."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - a failed flush must not stop the shutdown; say why
            print(f"warning: could not send the last {worker.__name__} items to the server: {exc}",
                  file=sys.stderr)


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
                         drain_timeout: float, runner: str | None = None) -> None:
    try:
        serve_deployment(cron, params, api_url, echo, drain_timeout, runner)
    except KeyboardInterrupt:
        pass
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _raise_stop)
        drain_flow_runs(drain_timeout, echo)  # any child process a run left (none with in-process runs)


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
