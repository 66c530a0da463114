"""Start Prefect's temporary server first, so it boots while this process imports Prefect and GX (issue 20).

With no PREFECT_API_URL, Prefect starts its temporary server (`uvicorn prefect.server.api.server:create_app`)
only when the flow first needs the API, after this process has imported Prefect, and the CLI process
imports the whole server package just to start it. Started here, before any of that, the server's
start-up (several seconds) overlaps the imports on a second core, and the CLI process never imports
the server package. It is the same command and settings Prefect's `SubprocessASGIServer` uses; its URL
becomes PREFECT_API_URL for this process (and for worker processes, which inherit the environment).
It is stopped at exit; the CLI's watchdog (flows/guard.py) stops it even after kill -9.

The server process is `python -m flows.early_server UVICORN-ARGS`: uvicorn's own command line, with the
garbage collector off while Prefect's server package imports (most of the server's start-up; see
flows/startup.py) and back on, as usual, for serving.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

_server: subprocess.Popen | None = None
_api_url: str | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start() -> str | None:
    """Start the temporary server in the background unless PREFECT_API_URL is set; its API URL (or None)."""
    global _server, _api_url
    if os.environ.get("PREFECT_API_URL", "").strip() or _server is not None:
        return None
    spec = importlib.util.find_spec("prefect")  # where Prefect is, without importing it
    if spec is None or spec.origin is None:
        return None
    port = _free_port()
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    _server = subprocess.Popen(
        [sys.executable, "-m", "flows.early_server", "--app-dir", str(Path(spec.origin).parent.parent), "--factory",
         "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port), "--log-level",
         "error", "--lifespan", "on"],
        env=env, stdin=subprocess.DEVNULL,
    )
    atexit.register(stop)
    _api_url = f"http://127.0.0.1:{port}/api"
    os.environ["PREFECT_API_URL"] = _api_url  # read when Prefect is first imported, after this
    return _api_url


def started() -> bool:
    """Whether start() started a server that has not been stopped."""
    return _server is not None


def wait_until_healthy(timeout: float = 120.0) -> None:
    """Block until the server started by start() answers; if it died, let Prefect start its own instead.

    The flow starts next: the start-up's pause of the garbage collector ends here either way (flows/startup.py).
    """
    from flows.startup import resume_gc

    try:
        _wait_until_healthy(timeout)
    finally:
        resume_gc()


def _wait_until_healthy(timeout: float) -> None:
    global _server
    if _server is None or _api_url is None:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _server.poll() is not None:  # e.g. the port was taken meanwhile: Prefect's own start-up takes over
            _server = None
            if os.environ.get("PREFECT_API_URL") == _api_url:
                del os.environ["PREFECT_API_URL"]
            _reset_prefect_api_url()
            return
        try:
            with urllib.request.urlopen(f"{_api_url}/health", timeout=2) as resp:  # noqa: S310 - our own server
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"Prefect's temporary server did not answer {_api_url}/health within {timeout:.0f}s")


def _reset_prefect_api_url() -> None:
    if "prefect" in sys.modules:  # Prefect already read the URL from the environment: take it back
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()


def stop() -> None:
    global _server
    proc, _server = _server, None
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _serve_main() -> None:
    """The temporary server's process: `python -m uvicorn ARGS`, importing Prefect's server package first with
    the garbage collector off (its objects then sit in the permanent generation, skipped by later passes)."""
    from flows.startup import pause_gc, resume_gc

    pause_gc()
    import prefect.server.api.server  # noqa: F401 - the bulk of the server's start-up, imported here once
    from uvicorn.main import main

    resume_gc()
    main()  # uvicorn's command line, from sys.argv


if __name__ == "__main__":
    _serve_main()
