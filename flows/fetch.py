"""Fetching web pages for `corpus add URL` through trafilatura, with a timeout and retries."""

from __future__ import annotations

import os
from urllib.parse import urlparse


class FetchError(Exception):
    """A URL that could not be fetched; the message says why."""


def is_url(value: str) -> bool:
    return urlparse(value).scheme in ("http", "https")


def fetch_url(url: str, timeout: float = 30.0, retries: int = 2) -> bytes:
    """The page's bytes; raises FetchError on a timeout, an HTTP error status or an empty answer."""
    from trafilatura.downloads import fetch_response
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "DOWNLOAD_TIMEOUT", str(int(max(1, timeout))))
    config.set("DEFAULT", "MAX_REDIRECTS", "5")
    # [issue 7] trafilatura 2.3 refuses loopback and private addresses (SSRF protection), which shows up
    # here as "no answer"; a desk fetching from its intranet, or a test server, opts out explicitly
    if os.environ.get("CORPUS_FETCH_ALLOW_PRIVATE", "").strip().lower() in ("1", "true", "yes"):
        config.set("DEFAULT", "SSRF_PROTECTION", "false")
    last = "no answer"
    for _attempt in range(retries + 1):
        response = fetch_response(url, decode=False, config=config)
        if response is None:
            last = f"no answer within {timeout:.0f}s (timeout or connection refused)"
            continue
        if response.status != 200:
            raise FetchError(f"{url}: HTTP {response.status}")
        if not response.data:
            raise FetchError(f"{url}: empty response")
        return bytes(response.data)
    raise FetchError(f"{url}: {last}")


def name_for_url(url: str) -> str:
    """An inbox file name for a fetched page."""
    parsed = urlparse(url)
    path = parsed.path.rstrip("/").rsplit("/", 1)[-1] or "index"
    stem = path.rsplit(".", 1)[0]
    return f"{parsed.netloc}_{stem}.html"
