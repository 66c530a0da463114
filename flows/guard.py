"""No process outlives the run that started it; SIGTERM ends a run within seconds.

`guard_children()` (called by the CLI before a flow run) tags the process with a fresh
CORPUS_RUN_TOKEN in its environment, which every child inherits -- Prefect's temporary server
(`SubprocessASGIServer` starts `python -m uvicorn` with `{**os.environ, ...}`), Dask workers, and their
children. It then starts a small watchdog (`python -m flows.guard PID TOKEN`, in its own session so a
group kill does not take it first) that waits for the CLI's PID to end -- however it ends, kill -9
included -- and then terminates every process still carrying the token. When the CLI exits normally
Prefect has already stopped its server, and the watchdog finds nothing and exits.

`TermGuard` (used by the ingest flow for the duration of a run) makes SIGTERM end the run within
seconds: the run row is marked `terminated`, Prefect's own handler is called (it raises
TerminationSignal so the flow run is reported crashed), and if the process is still alive after
TERM_GRACE_SECONDS (worker threads still cleaning or linking a batch) it exits with os._exit(143).
The process never ends before the marking has finished or TERM_MARK_SECONDS have passed, whichever
comes first: neither by that os._exit nor by a normal exit (see `TermGuard`).
What is left is what kill -9 leaves, which the next run finishes (see RELIABILITY.md).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

TOKEN_ENV = "CORPUS_RUN_TOKEN"  # noqa: S105 - the name of an environment variable, not a secret
TERM_GRACE_SECONDS = 3.0
# The longest SIGTERM waits for the run row to be marked. The marker shares the catalog session with the main
# thread, which may be in the middle of landing a batch (one DuckDB call, not interruptible by a Python signal
# handler) when the signal comes; the marker waits for it (warehouse.store.MARK_WAIT_SECONDS, 4 s) and this
# is the backstop if the marker hangs. It stays well under the "within seconds" the tests hold SIGTERM to.
TERM_MARK_SECONDS = 5.0
_started_for: int | None = None


def guard_children() -> str | None:
    """Tag this process's future children and start the watchdog (once per process); returns the token."""
    global _started_for
    if _started_for == os.getpid():
        return os.environ.get(TOKEN_ENV)
    if os.environ.get("CORPUS_NO_WATCHDOG", "").strip() in ("1", "true", "yes"):
        return None
    token = uuid.uuid4().hex
    os.environ[TOKEN_ENV] = token
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    try:
        subprocess.Popen(
            [sys.executable, "-m", "flows.guard", str(os.getpid()), token],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
            cwd=str(Path(__file__).resolve().parents[1]),
        )
    except OSError:
        return None  # no watchdog: Prefect still stops its server on a normal exit
    _started_for = os.getpid()
    return token


def processes_with_token(token: str, exclude: int | None = None) -> list:
    """Live processes whose environment carries this token."""
    import psutil

    found = []
    for p in psutil.process_iter(["pid"]):
        if p.pid in (exclude, os.getpid()):
            continue
        try:
            if p.environ().get(TOKEN_ENV) == token:
                found.append(p)
        except (psutil.Error, OSError):
            continue
    return found


def kill_tagged(token: str, grace: float = 3.0) -> int:
    """Terminate (then kill) every process carrying the token; returns how many were found."""
    import psutil

    procs = processes_with_token(token)
    for p in procs:
        with contextlib.suppress(psutil.Error):  # already gone
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    return len(procs)


def _wait_for_exit(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        try:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            while not poller.poll(60_000):
                pass
            return
        finally:
            os.close(fd)
    while True:  # no pidfd: poll
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        except PermissionError:
            pass
        if os.getppid() != pid:
            return
        time.sleep(0.2)


def watchdog_main(argv: list[str]) -> int:
    pid, token = int(argv[0]), argv[1]
    _wait_for_exit(pid)
    kill_tagged(token)
    return 0


class TermGuard:
    """While active (main thread only), SIGTERM marks the run and ends the process within seconds.

    A Python signal handler only runs when the main thread is between bytecodes; a long C call (a big
    DuckDB query, a regex) would delay it. So the C-level handler's wake-up byte is also watched by a
    thread, which acts even while the main thread is busy: it runs `on_term` (the marking) in a marker
    thread and ends the process with os._exit(143) after `grace` seconds.

    The marking must not be cut short, or the run row stays `running` (the next writer then marks it
    `crashed`, but SIGTERM promises `terminated`). Two exits used to cut it short: the watcher's os._exit
    after `grace` when the marker was still waiting for a catalog the main thread held, and the main thread
    itself, which unwinds from Prefect's TerminationSignal and may exit normally at once, killing the daemon
    marker thread at interpreter exit. So the watcher waits for the marker up to `mark_seconds` before its
    os._exit, and `stop()` (and an exit hook, for exits that skip it) waits for it just as long: the
    process ends when the marking has finished or `mark_seconds` have passed, never earlier. Call `stop()`
    outside any catalog session: the marker needs it. A marking slower than `mark_seconds` is given up
    (the next writer marks the run `crashed`), so SIGTERM ends the process within max(grace, mark_seconds).
    """

    def __init__(self, on_term: Callable[[], None], grace: float = TERM_GRACE_SECONDS,
                 mark_seconds: float = TERM_MARK_SECONDS):
        self.on_term = on_term
        self.grace = grace
        self.mark_seconds = mark_seconds
        self.active = False
        self.terminated = False
        # `active` and `_fired` change together, so stop() knows whether a marker runs (re-entrant: the main
        # thread's signal handler takes it too, and may run while the main thread holds it)
        self._state = threading.RLock()
        self._fired = False
        self._marked = threading.Event()

    def start(self) -> TermGuard:
        if threading.current_thread() is not threading.main_thread():
            return self
        self._r, self._w = os.pipe()
        os.set_blocking(self._w, False)
        try:
            self._old_fd = signal.set_wakeup_fd(self._w, warn_on_full_buffer=False)
            self._old_handler = signal.signal(signal.SIGTERM, self._handler)
        except (ValueError, OSError):
            os.close(self._r)
            os.close(self._w)
            return self
        self.active = True
        threading.Thread(target=self._watch, name="sigterm-watch", daemon=True).start()
        return self

    def stop(self) -> None:
        """Restore the previous handler; if SIGTERM started a marking, wait for it (at most mark_seconds)."""
        with self._state:
            if not self.active:
                return
            self.active = False
        try:
            signal.signal(signal.SIGTERM, self._old_handler)
            signal.set_wakeup_fd(self._old_fd)
        finally:
            os.close(self._w)  # the watcher reads EOF and ends
        self.wait_marked(self.mark_seconds)

    def wait_marked(self, timeout: float) -> bool:
        """Wait until the marking started by SIGTERM has finished (True at once if none was started)."""
        with self._state:
            fired = self._fired
        return not fired or self._marked.wait(timeout)

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self._r, 64)
            except OSError:
                return
            if not data:
                os.close(self._r)
                return
            if signal.SIGTERM in data and self._fire():
                self._terminate()

    def _fire(self) -> bool:
        """True for the first SIGTERM seen while active, by the watcher or by the main thread's handler."""
        with self._state:
            fire = self.active and not self._fired
            self._fired = self._fired or fire
        return fire

    def _terminate(self) -> None:
        self.terminated = True
        deadline = time.monotonic() + self.grace
        marker = threading.Thread(target=self._mark, name="sigterm-mark", daemon=True)
        marker.start()
        # a normal exit of the main thread (Prefect's handler unwinds the flow) waits for the marker too
        atexit.register(self.wait_marked, self.mark_seconds)
        marker.join(self.mark_seconds)
        time.sleep(max(0.0, deadline - time.monotonic()))  # Prefect's own clean-up may end the process first
        os._exit(128 + signal.SIGTERM)

    def _mark(self) -> None:
        try:
            with contextlib.suppress(Exception):  # the next writer marks the run crashed anyway
                self.on_term()
        finally:
            self._marked.set()

    def _handler(self, signum, frame) -> None:
        # Main thread: hand over to Prefect's handler, which raises TerminationSignal so the flow run is
        # reported crashed while the watcher's clock runs. The watcher may not have read the byte yet (a busy
        # machine): the marking then starts here, or stop() would find no marking to wait for.
        self.terminated = True
        if self._fire():
            threading.Thread(target=self._terminate, name="sigterm-watch", daemon=True).start()
        old = self._old_handler
        if callable(old):
            old(signum, frame)
        else:
            raise SystemExit(128 + signal.SIGTERM)


if __name__ == "__main__":
    sys.exit(watchdog_main(sys.argv[1:]))
