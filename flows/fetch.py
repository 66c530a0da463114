"""Fetching web pages for `corpus add URL` through trafilatura, with a timeout and retries."""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from urllib.parse import urlparse

from transforms.errors import CorpusError


class FetchError(CorpusError):
    """A URL that could not be fetched; the message says why."""


def is_url(value: str) -> bool:
    return urlparse(value).scheme in ("http", "https")


def fetch_url(url: str, timeout: float = 30.0, deadline: float | None = None, max_bytes: int | None = None,
              allow_private: bool = False) -> bytes:
    """The page's bytes; raises FetchError on a timeout, an HTTP error status, a refusal or an empty answer.

    trafilatura answers None for every failure and logs the reason; the reason is caught from its log so
    the message says what happened (a private address refused, a response over the size limit, ...).
    """
    from trafilatura.downloads import fetch_response
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "DOWNLOAD_TIMEOUT", str(int(max(1, timeout))))
    config.set("DEFAULT", "MAX_REDIRECTS", "5")
    if max_bytes is not None:
        config.set("DEFAULT", "MAX_FILE_SIZE", str(int(max_bytes)))
    # [issue 7] trafilatura 2.3 refuses loopback and private addresses (SSRF protection), which shows up
    # here as "no answer"; a desk fetching from its intranet, or a test server, opts out explicitly
    if allow_private:
        config.set("DEFAULT", "SSRF_PROTECTION", "false")
    if not allow_private and _is_private_host(url):
        raise FetchError(f"{url}: refused: a loopback or private address (set CORPUS_FETCH_ALLOW_PRIVATE=1 to allow)")
    # trafilatura retries a read time-out itself (up to 5 times, with back-off), so one call can take many
    # times `timeout`; an overall deadline keeps `corpus add` to what the user asked for.
    outcome: dict = {}
    logged = _TrafilaturaReasons()

    def call() -> None:
        logged.thread = threading.get_ident()
        try:
            outcome["response"] = fetch_response(url, decode=False, config=config)
        except Exception as exc:  # noqa: BLE001 - reported to the caller below
            outcome["error"] = exc

    logger = logging.getLogger("trafilatura")
    logger.addHandler(logged)
    try:
        worker = threading.Thread(target=call, daemon=True, name=f"fetch {url}")
        worker.start()
        worker.join(deadline if deadline is not None else 2 * timeout + 1)
    finally:
        logger.removeHandler(logged)
    if worker.is_alive() or "response" not in outcome and "error" not in outcome:
        raise FetchError(f"{url}: no answer within {timeout:.0f}s")
    if "error" in outcome:
        raise FetchError(f"{url}: {outcome['error']}")
    response = outcome["response"]
    if response is None:
        raise FetchError(f"{url}: {logged.reason(timeout, config.getint('DEFAULT', 'MAX_FILE_SIZE'))}")
    if response.status != 200:
        raise FetchError(f"{url}: HTTP {response.status}")
    if not response.data:
        raise FetchError(f"{url}: empty response")
    return bytes(response.data)


class _TrafilaturaReasons(logging.Handler):
    """Collects what trafilatura logs while one fetch runs (in the fetch's own thread)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.thread: int | None = None
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread and record.levelno >= logging.WARNING:
            self.messages.append(record.getMessage())

    def reason(self, timeout: float, max_bytes: int) -> str:
        text = " ".join(self.messages)
        if "SSRF protection" in text:
            return "refused: a loopback or private address (set CORPUS_FETCH_ALLOW_PRIVATE=1 to allow)"
        if "exceeds MAX_FILE_SIZE" in text or "Failed writing" in text:
            return f"refused: the response is over the {max_bytes:,}-byte limit (CORPUS_MAX_FILE_MB)"
        return f"no answer within {timeout:.0f}s (timeout or connection refused)"


def _is_private_host(url: str) -> bool:
    """True for loopback, private and link-local hosts, by name or by any address the name resolves to
    (trafilatura refuses them unless told otherwise)."""
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        addrs = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return False  # unresolvable: trafilatura reports it
        addrs = []
        for info in infos:
            try:
                addrs.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
            except ValueError:
                continue
    return any(a.is_loopback or a.is_private or a.is_link_local for a in addrs)


def name_for_url(url: str) -> str:
    """An inbox file name for a fetched page."""
    parsed = urlparse(url)
    path = parsed.path.rstrip("/").rsplit("/", 1)[-1] or "index"
    stem = path.rsplit(".", 1)[0]
    return f"{parsed.netloc}_{stem}.html"
