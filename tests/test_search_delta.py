"""Issue 20: the two-level full-text index. A run that lands a few articles into a big corpus rebuilds
only the small delta index (search-delta.duckdb), never the base (search.duckdb); the base rebuild folds the
delta in; a replaced or removed article never shows; a killed rebuild leaves search answering.

"Big" is made small here: SYNC_MAX_ARTICLES = 1 (every corpus is above it) and a delta bound of 5 articles.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, SAMPLES
from warehouse import Warehouse, search
from warehouse.paths import HomeLayout

# our own sentences, each with a word found nowhere else
STORIES = {
    "quokkaberry": (
        "Growers in the northern valley said on Tuesday that the quokkaberry harvest had doubled after a wet "
        "spring, and that the cooperative would open two new packing sheds before the autumn. The regional "
        "council welcomed the news and promised to repair the road that links the orchards to the rail depot, "
        "which flooded twice last year. Prices at the wholesale market fell slightly as the first crates arrived."),
    "zinnobrite": (
        "A mining company reported that the zinnobrite seam found under the old quarry is thinner than first "
        "thought, and that drilling would pause until the summer. Local residents, who had opposed the project "
        "at three public meetings, said they were relieved. The company said it would publish the full survey "
        "and consult the town before deciding whether to apply for a permit to extend the site."),
    "marblewick": (
        "The marblewick lighthouse reopened to visitors on Saturday after a restoration that took four years "
        "and cost more than the town had planned. Volunteers repainted the tower, rebuilt the keeper's cottage "
        "and restored the original lens, which had been stored in a museum since the light was automated. The "
        "harbour master said the light would stay in service for ships entering the bay at night."),
}


@pytest.fixture(scope="module")
def small_home(tmp_path_factory, prefect_server) -> Path:
    """Three samples ingested: the base index holds them (built by the run, the corpus being small)."""
    from flows.ops import run_ingest

    base = tmp_path_factory.mktemp("delta")
    inbox = base / "in"
    inbox.mkdir()
    for f in sorted(SAMPLES.iterdir())[:3]:
        shutil.copy(f, inbox / f.name)
    home = base / "home"
    assert run_ingest(home=str(home), inbox=str(inbox))["n_new"] == 3
    assert (home / "search.duckdb").is_file()
    return home


@pytest.fixture
def big(small_home, tmp_path, monkeypatch) -> Path:
    """A copy of the small home, which every run now treats as a big corpus."""
    home = tmp_path / "home"
    shutil.copytree(small_home, home)
    monkeypatch.setattr(search, "SYNC_MAX_ARTICLES", 1)
    monkeypatch.setattr(search, "DELTA_MIN_ARTICLES", 5, raising=False)
    monkeypatch.setattr(search, "DELTA_BOUND_FACTOR", 0.0, raising=False)
    return home


def _add(home: Path, tmp_path: Path, *words: str) -> None:
    from flows.ops import run_ingest

    inbox = tmp_path / f"in-{'-'.join(words)}"
    inbox.mkdir()
    for w in words:
        (inbox / f"{w}.txt").write_text(STORIES[w], encoding="utf-8")
    assert run_ingest(home=str(home), inbox=str(inbox))["n_new"] == len(words)


def _ids(home: Path, word: str) -> list[str]:
    return [h["article_id"] for h in search.search(home, word)]


def _spy_background(monkeypatch) -> list[Path]:
    started: list[Path] = []
    monkeypatch.setattr(search, "refresh_in_background", lambda layout: started.append(layout.home))
    return started


def test_an_add_into_a_big_corpus_rebuilds_only_the_delta_and_is_searchable_at_once(big, tmp_path, monkeypatch):
    started = _spy_background(monkeypatch)
    base_before = (big / "search.duckdb").stat().st_mtime_ns
    _add(big, tmp_path, "quokkaberry")
    assert started == []  # no base rebuild, detached or not
    assert (big / "search.duckdb").stat().st_mtime_ns == base_before
    assert search.read_meta(big / "search-delta.duckdb")["articles"] == "1"
    assert len(_ids(big, "quokkaberry")) == 1  # right after the run, from the delta
    assert len(_ids(big, "demonstrators")) >= 1  # the base still answers
    _add(big, tmp_path, "zinnobrite")  # the delta holds every change since the base: both articles
    assert started == [] and search.read_meta(big / "search-delta.duckdb")["articles"] == "2"
    assert len(_ids(big, "quokkaberry")) == 1 and len(_ids(big, "zinnobrite")) == 1


def test_a_delta_article_scores_as_it_would_in_one_index(big, tmp_path, monkeypatch):
    """The delta's BM25 statistics are those of base + delta: an article scores the same before and after
    the base rebuild folds it in, so the two indexes give one ranking."""
    _spy_background(monkeypatch)
    _add(big, tmp_path, "marblewick")
    before = search.search(big, "marblewick lighthouse harbour")
    search._build_from_copy(HomeLayout(big))  # what the detached rebuild does: the delta is folded in
    after = search.search(big, "marblewick lighthouse harbour")
    assert [h["article_id"] for h in after] == [h["article_id"] for h in before] and len(after) == 1
    assert after[0]["score"] == pytest.approx(before[0]["score"], rel=1e-9)


def test_the_base_is_rebuilt_once_the_delta_passes_its_bound_and_folds_it_in(big, tmp_path, monkeypatch):
    started = _spy_background(monkeypatch)
    monkeypatch.setattr(search, "DELTA_MIN_ARTICLES", 1, raising=False)
    _add(big, tmp_path, "quokkaberry")
    assert started == []
    _add(big, tmp_path, "zinnobrite", "marblewick")  # 3 changed articles > 1: the base is due
    assert started == [big]
    assert len(_ids(big, "marblewick")) == 1  # searchable meanwhile, from the delta
    from filelock import FileLock

    # that rebuild is running: a run ending now starts no second one
    with FileLock(str(big / ".search.lock")), Warehouse(big).writer() as w:
        assert w.refresh_search(force=True) == {"base": "running", "delta": 3, "changed": 3}
    assert started == [big]
    search._build_from_copy(HomeLayout(big))  # the detached process's work
    assert search.read_meta(big / "search.duckdb")["articles"] == "6"
    for word in ("quokkaberry", "zinnobrite", "marblewick"):
        assert len(_ids(big, word)) == 1, word  # once, from the base


def _rewrite(home: Path, change) -> None:
    """Replace the articles (and mentions) tables with change(articles, mentions), like a renormalize."""
    with Warehouse(home).writer() as w:
        with w.connect() as con:
            arts = con.execute("SELECT * FROM articles").to_arrow_table()
            ments = con.execute("SELECT * FROM mentions").to_arrow_table()
        arts, ments = change(arts, ments)
        w.rewrite_tables("test-rewrite", [{"articles": arts, "mentions": ments}])


def _new_text(arts, article_id: str, text: str):
    """The articles with `article_id`'s clean_text replaced by `text`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = pc.if_else(pc.equal(arts["article_id"], article_id), pa.scalar(text), arts["clean_text"])
    return arts.set_column(arts.schema.get_field_index("clean_text"), "clean_text", texts)


def test_a_replaced_or_removed_article_never_shows(big, tmp_path, monkeypatch):
    import pyarrow.compute as pc

    _spy_background(monkeypatch)
    _add(big, tmp_path, "quokkaberry", "zinnobrite")
    old = _ids(big, "quokkaberry")[0]
    gone = _ids(big, "zinnobrite")[0]
    base_id = _ids(big, "demonstrators")[0]

    def change(arts, ments):
        keep = pc.invert(pc.equal(arts["article_id"], gone))
        arts = arts.filter(keep)
        return _new_text(arts, old, STORIES["marblewick"]), ments.filter(pc.invert(pc.equal(ments["article_id"], gone)))

    _rewrite(big, change)  # rewrite_tables refreshes the index itself
    assert _ids(big, "quokkaberry") == []  # the old text of the replaced article
    assert _ids(big, "marblewick") == [old]  # its new text, once
    assert _ids(big, "zinnobrite") == []  # removed
    assert _ids(big, "demonstrators")[0] == base_id  # the base still answers
    # replaced in the base itself: a base article's new text, its old text gone
    base_word = "demonstrators"

    def change_base(arts, ments):
        return _new_text(arts, base_id, STORIES["quokkaberry"]), ments

    _rewrite(big, change_base)
    assert base_id not in _ids(big, base_word)
    assert _ids(big, "quokkaberry") == [base_id]


def _killed_at_rename(home: Path, code: str) -> subprocess.CompletedProcess:
    """Run `code` in a child whose first os.replace (the atomic rename of a new index) is a kill -9."""
    prelude = textwrap.dedent("""
        import os, signal, sys
        from pathlib import Path
        os.replace = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        from warehouse import search
        search.SYNC_MAX_ARTICLES = 1
        search.DELTA_MIN_ARTICLES = 5
        search.DELTA_BOUND_FACTOR = 0.0
        home = Path(sys.argv[1])
    """)
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code), str(home)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_a_rebuild_killed_midway_leaves_search_answering_and_picks_up_again(big, tmp_path, monkeypatch):
    started = _spy_background(monkeypatch)
    _add(big, tmp_path, "quokkaberry")
    files = sorted(p.name for p in big.iterdir())
    # the detached base rebuild, killed -9 just before its rename
    proc = _killed_at_rename(big, "from warehouse.paths import HomeLayout; search._build_from_copy(HomeLayout(home))")
    assert proc.returncode == -9, proc.stderr
    assert len(_ids(big, "quokkaberry")) == 1 and len(_ids(big, "demonstrators")) >= 1
    # a delta rebuild (a writer's refresh), killed the same way: the previous delta still answers
    proc = _killed_at_rename(big, "from warehouse import Warehouse\n"
                                  "with Warehouse(home).writer() as w: w.refresh_search(force=True)")
    assert proc.returncode == -9, proc.stderr
    assert len(_ids(big, "quokkaberry")) == 1
    leftovers = [n for n in (p.name for p in big.iterdir()) if n not in files]
    assert all(n.startswith(".tmp-") for n in leftovers), leftovers  # nothing else changed
    # the next run refreshes again, as if nothing had happened
    _add(big, tmp_path, "zinnobrite")
    assert started == [] and len(_ids(big, "zinnobrite")) == 1 and len(_ids(big, "quokkaberry")) == 1
    # a base lost mid-way is built again by `corpus search` itself
    (big / "search.duckdb").unlink()
    assert len(_ids(big, "zinnobrite")) == 1 and len(_ids(big, "quokkaberry")) == 1


def test_an_unusable_base_is_rebuilt_not_patched(big, tmp_path, monkeypatch):
    """A base whose snapshot `corpus compact` expired, or written by another index version, cannot be
    completed by a delta: the base is rebuilt (detached, the corpus being big) and no delta is built."""
    started = _spy_background(monkeypatch)
    with Warehouse(big).writer() as w:
        w.compact("test-compact", keep_days=0)  # only the newest snapshot is kept
        assert w.refresh_search(force=True) == {"base": "detached", "delta": None, "changed": None}
    assert started == [big] and not (big / "search-delta.duckdb").exists()
    search._build_from_copy(HomeLayout(big))
    con = duckdb.connect(str(big / "search.duckdb"))
    try:
        con.execute("UPDATE meta SET value = '1' WHERE key = 'version'")
    finally:
        con.close()
    with Warehouse(big).writer() as w:
        assert w.refresh_search(force=True)["base"] == "detached"
    assert started == [big, big]


def test_an_article_relinked_alone_is_filtered_on_its_new_entities(big, monkeypatch):
    """Only its mentions changed (a re-link): the delta holds it with its new entities, read from the lake."""
    import pyarrow.compute as pc

    _spy_background(monkeypatch)
    aid = _ids(big, "demonstrators")[0]
    with Warehouse(big).writer() as w:
        with w.connect() as con:
            ments = con.execute("SELECT * FROM mentions").to_arrow_table()
        entity = ments.filter(pc.equal(ments["article_id"], aid))["entity_id"][0].as_py()
        assert aid in [h["article_id"] for h in search.search(big, "demonstrators", entity=entity)]
        w.rewrite_tables("test-relink", [{"mentions": ments.filter(pc.invert(pc.equal(ments["article_id"], aid)))}])
    # the whole table was rewritten (DELETE + INSERT): each article's mentions changed, their rows did not
    assert search.read_meta(big / "search-delta.duckdb")["articles"] == "3"
    assert aid not in [h["article_id"] for h in search.search(big, "demonstrators", entity=entity)]
    assert _ids(big, "demonstrators").count(aid) == 1


def test_a_failed_delta_keeps_the_base_and_hands_the_new_articles_to_a_base_rebuild(big, tmp_path, monkeypatch):
    """The run's caller deletes the index when the refresh raises: over a big corpus that would cost a full
    rebuild at the next search. A delta that cannot be written is logged and the base rebuilt in the
    background instead; the base and the previous delta keep answering."""
    started = _spy_background(monkeypatch)
    _add(big, tmp_path, "quokkaberry")

    def broken(*args, **kwargs):
        raise duckdb.IOException("IO Error: no space left on device")

    monkeypatch.setattr(search, "build_delta", broken)
    _add(big, tmp_path, "zinnobrite")
    assert started == [big] and (big / "search.duckdb").is_file()
    assert "delta not rebuilt (IO Error: no space left on device)" in (big / "search.log").read_text()
    assert len(_ids(big, "quokkaberry")) == 1 and len(_ids(big, "demonstrators")) >= 1


def test_a_rebuild_started_by_the_corpus_command_waits_until_the_command_has_exited(big):
    """The detached base rebuild that `corpus ingest` starts at its end waits until the command (and with it
    its temporary Prefect server) is gone: the rebuild's memory never adds to theirs (issue 20's peak RSS
    across all processes). The command names itself in CORPUS_SEARCH_AFTER_PID (flows/cli.py main)."""
    import time

    log = big / "search.log"
    log.unlink(missing_ok=True)
    command = textwrap.dedent(f"""
        import os, sys, time
        sys.path.insert(0, {str(REPO)!r})
        os.environ["CORPUS_SEARCH_AFTER_PID"] = str(os.getpid())
        from pathlib import Path
        from warehouse import search
        from warehouse.paths import HomeLayout
        search.refresh_in_background(HomeLayout(Path({str(big)!r})))
        time.sleep(3)
        print(time.time())
    """)
    done = subprocess.run([sys.executable, "-c", command], capture_output=True, text=True, check=True, timeout=60)
    exited = float(done.stdout.split()[-1])
    deadline = time.monotonic() + 90
    while "rebuilds: 1" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "rebuilds: 1" in log.read_text(), log.read_text()
    assert (big / "search.duckdb").stat().st_mtime >= exited  # built after the command had exited
    assert "waiting for PID" in log.read_text()
