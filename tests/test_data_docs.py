"""Issue 16: Data Docs are one complete local page that loads offline and shows the latest run's suites and failures."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import expectations as ex
from tests.test_expectations import _set, good_batch, mention_off_by_one, run

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-extensions", "--disable-default-apps",
]


@pytest.fixture(scope="module")
def failing_docs(tmp_path_factory) -> Path:
    batch = good_batch()
    mention_off_by_one(batch)
    _set(batch["articles"], "art-3", "language", "ar")
    docs = tmp_path_factory.mktemp("docs")
    index = ex.build_data_docs(run(batch), docs, run_name="run-under-test")
    assert index is not None
    return index


def _links(page: str) -> list[str]:
    return re.findall(r'(?:href|src)\s*=\s*["\']([^"\']*)', page, flags=re.IGNORECASE)


def test_the_page_needs_nothing_from_outside(failing_docs):
    page = failing_docs.read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    for link in _links(page):  # every link is an anchor on the page, and it exists
        assert link.startswith("#"), link
        assert f'id="{link[1:]}"' in page, f"dead link {link}"


def test_the_page_names_the_run_and_the_tables_and_says_nothing_vacuous(failing_docs):
    page = failing_docs.read_text(encoding="utf-8")
    assert "run-under-test" in page
    assert "__none__" not in page and "Data asset: None" not in page
    assert "at least 0%" not in page  # the non-English flag is a notice, not a check that cannot fail
    assert "flagged and kept" in page


def test_a_run_writes_a_complete_page(sample_home):

    page = (sample_home / "docs" / "index.html").read_text(encoding="utf-8")
    from warehouse import connect_readonly
    con = connect_readonly(sample_home)
    try:
        run_id = con.execute("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()[0]
    finally:
        con.close()
    assert run_id in page
    assert not (sample_home / "docs" / "static").exists()
    for link in _links(page):
        assert link.startswith("#") and f'id="{link[1:]}"' in page, link


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium is not installed (.ci/run installs the Debian package)")
    return path


def test_the_page_renders_offline_in_headless_chromium(failing_docs, tmp_path):
    """A real browser with networking off loads the page and shows the suites and the failure."""
    chromium = _chromium()
    profile = tmp_path / "profile"
    url = failing_docs.as_uri()
    dom = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    for suite in ("articles", "mentions", "removed_spans", "entities"):
        assert f'id="suite-{suite}"' in html
    assert "1 of 36 expectations failed" in html or re.search(r"\d+ of \d+ expectations failed", html)
    assert "✘ failed" in html and "Baghdad" in html  # the failing mention and its sample
    shot = tmp_path / "shot.png"
    snap = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}-2", "--window-size=1200,1600",
         f"--screenshot={shot}", url],
        capture_output=True, text=True, timeout=120,
    )
    assert snap.returncode == 0 and shot.exists() and shot.stat().st_size > 20_000, snap.stderr[-2000:]
