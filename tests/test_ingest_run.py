"""Issue 19: the ingest run object. A retried read loses nothing; the run's shape is checked too."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import catalog_rows, copy_samples


def _fates(home: Path, names: list[str]) -> dict[str, str]:
    """What became of each inbox file: 'article', 'duplicate' (of a landed article), 'quarantine' or 'lost'."""
    con = duckdb.connect(str(home / "corpus.duckdb"), read_only=True)
    try:
        articles = {r[0] for r in con.execute("SELECT source_name FROM articles").fetchall()}
        held = {r[0] for r in con.execute("SELECT source_name FROM quarantine").fetchall()}
        dups = {r[0] for r in con.execute(
            "SELECT d.source_name FROM duplicates d JOIN articles a USING (article_id)").fetchall()}
    finally:
        con.close()
    return {n: "article" if n in articles else "duplicate" if n in dups else "quarantine" if n in held else "lost"
            for n in names}


def test_an_archive_error_retried_by_prefect_loses_no_file(prefect_server, corpus_home: Path, monkeypatch) -> None:
    """One OSError while archiving (a full disk for a moment): Prefect retries the read task, and the retry
    must not take the first attempt's documents for duplicates of themselves."""
    from flows.ops import run_ingest
    from warehouse import WarehouseWriter

    inbox = copy_samples(corpus_home / "inbox")
    first = sorted(inbox.iterdir())[0]
    (inbox / "zz_copy.txt").write_bytes(first.read_bytes())  # same bytes, read in a later batch
    names = sorted(p.name for p in inbox.iterdir())
    real_flush = WarehouseWriter.flush_archive
    calls = {"n": 0}

    def flaky_flush(self) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(28, "No space left on device")
        real_flush(self)

    monkeypatch.setattr(WarehouseWriter, "flush_archive", flaky_flush)
    s = run_ingest(home=str(corpus_home), batch_size=2)
    assert calls["n"] >= 2, "the injected error was never hit"
    fates = _fates(corpus_home, names)
    assert "lost" not in fates.values(), fates
    assert fates["zz_copy.txt"] == "duplicate"  # the run still knows what earlier batches read
    assert (s["n_new"], s["n_duplicate"]) == (len(names) - 1, 1), s
    assert not list(inbox.iterdir())  # each file was consumed only after it landed


# ---- the shape: one bounded window, short functions ----------------------------------------------
def test_the_window_keeps_max_in_flight_batches_ahead_of_the_one_being_finished() -> None:
    from flows.batching import bounded_window

    submitted: list[int] = []

    def submit():
        for i in range(6):
            submitted.append(i)
            yield i

    ahead = []
    for i in bounded_window(submit(), 2):
        ahead.append(len(submitted) - 1 - i)  # batches submitted after the one being finished
    assert ahead == [2, 2, 2, 2, 1, 0]
    assert list(bounded_window(iter(range(3)), 0)) == [0, 1, 2]  # a window below 1 counts as 1


def test_no_function_in_flows_is_longer_than_60_lines() -> None:
    import ast

    flows = Path(__file__).resolve().parents[1] / "flows"
    long = []
    for path in sorted(flows.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > 60:
                    long.append(f"{path.name}:{node.lineno} {node.name} ({n} lines)")
    assert not long, long


# ---- validation: one quarantine row per failed record ------------------------------------------------
def test_a_record_failing_two_expectations_gets_one_quarantine_row() -> None:
    from expectations import BatchValidation, RowFailure, quarantine_rows

    articles = [
        {"article_id": "a1", "source_name": "short_with_banner.txt", "content_sha256": "s1", "_row": 0},
        {"article_id": "a2", "source_name": "fine.txt", "content_sha256": "s2", "_row": 1},
        {"article_id": "a3", "source_name": "bad_mention.txt", "content_sha256": "s3", "_row": 2},
    ]
    result = BatchValidation(
        failures=[
            RowFailure("a1", "articles", "expect_length", "clean_text has 12 characters", row_index=0),
            RowFailure("a1", "articles", "expect_no_noise", "clean_text holds '728 x 90'", row_index=0),
            RowFailure("a3", "mentions", "expect_slice", "surface does not slice", row_index=5),
            RowFailure("a3", "mentions", "expect_slice", "surface does not slice", row_index=6),
        ],
        results=[],
        rejected_article_rows={0, 2},
    )
    rows = quarantine_rows(articles, result)
    assert [r["source_name"] for r in rows] == ["short_with_banner.txt", "bad_mention.txt"]
    first = rows[0]
    assert (first["stage"], first["reason"], first["article_id"]) == ("validate", "expect_length", "a1")
    assert "expect_length" in first["detail"] and "expect_no_noise" in first["detail"]
    assert "728 x 90" in first["detail"]
    assert rows[1]["reason"] == "expect_slice" and rows[1]["detail"].startswith("2 expectations failed")


def test_a_real_record_failing_two_expectations_is_held_once(prefect_server, corpus_home: Path, tmp_path) -> None:
    """Through the real flow and GX: a text that is too short AND holds a banner line is one held record."""
    from flows.ops import run_ingest

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "stub.txt").write_text("A stub of a story.\n\n728 x 90\n", encoding="utf-8")
    s = run_ingest(home=str(corpus_home), inbox=str(inbox))
    rows = catalog_rows(corpus_home, "SELECT reason, detail FROM quarantine WHERE source_name = 'stub.txt'")
    assert len(rows) == 1, rows
    assert s["n_quarantined"] == 1 and sum(s["quarantined_by_reason"].values()) == 1, s


# ---- one source of truth ---------------------------------------------------------------------------
def test_an_edited_rules_or_gazetteer_file_is_seen_by_a_long_lived_worker(tmp_path: Path) -> None:
    """The caches are keyed on the files' content: the same path with new content loads again."""
    from flows import ingest
    from transforms.names.gazetteer import default_path

    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  - name: sponsor_line\n    patterns: ['brought to you by .{1,60}']\n",
                     encoding="utf-8")
    first = ingest._rules(str(rules))
    assert ingest._rules(str(rules)) is first  # unchanged: cached
    rules.write_text("version: 1\nrules:\n  - name: promo_line\n    patterns: ['promoted by .{1,60}']\n",
                     encoding="utf-8")
    names = {r.name for r in ingest._rules(str(rules)).line_rules}
    assert "promo_line" in names and "sponsor_line" not in names

    gaz = tmp_path / "gazetteer.yaml"
    text = default_path().read_text(encoding="utf-8")
    gaz.write_text(text, encoding="utf-8")
    before, _ = ingest._gazetteer_and_linker(str(gaz))
    gaz.write_text(text.replace(f"version: \"{before.version}\"", "version: \"9.9.9-edited\"", 1), encoding="utf-8")
    after, _ = ingest._gazetteer_and_linker(str(gaz))
    assert str(after.version) == "9.9.9-edited" != str(before.version)


def test_settings_own_every_corpus_variable() -> None:
    """No module but flows/settings.py reads a CORPUS_* variable (bar the few named in its docstring)."""
    import re

    repo = Path(__file__).resolve().parents[1]
    allowed = {("warehouse/paths.py", "CORPUS_HOME"), ("warehouse/paths.py", "CORPUS_CATALOG"),
               ("flows/cli.py", "CORPUS_LOG_LEVEL"),
               ("flows/guard.py", "CORPUS_NO_WATCHDOG"), ("flows/guard.py", "CORPUS_RUN_TOKEN"),
               ("flows/cli.py", "CORPUS_SEARCH_AFTER_PID")}
    read = re.compile(r"environ(?:\.get)?[\[(]\s*[\"'](CORPUS_[A-Z_]+)")
    found = set()
    for package in ("flows", "warehouse", "transforms", "expectations"):
        for path in (repo / package).rglob("*.py"):
            rel = path.relative_to(repo).as_posix()
            if rel == "flows/settings.py":
                continue
            found |= {(rel, name) for name in read.findall(path.read_text(encoding="utf-8"))}
    assert found - allowed == set()


def test_bad_boolean_and_number_settings_name_the_variable(monkeypatch, tmp_path: Path) -> None:
    from flows.settings import Settings
    from transforms.errors import ConfigError

    monkeypatch.setenv("CORPUS_FETCH_ALLOW_PRIVATE", "perhaps")
    with pytest.raises(ConfigError, match="CORPUS_FETCH_ALLOW_PRIVATE"):
        Settings.from_env(home=str(tmp_path))
    monkeypatch.setenv("CORPUS_FETCH_ALLOW_PRIVATE", "yes")
    monkeypatch.setenv("CORPUS_SERVER_START_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="CORPUS_SERVER_START_TIMEOUT"):
        Settings.from_env(home=str(tmp_path))
    monkeypatch.setenv("CORPUS_SERVER_START_TIMEOUT", "5")
    monkeypatch.setenv("CORPUS_DASK_ADDRESS", " tcp://scheduler:8786 ")
    s = Settings.from_env(home=str(tmp_path))
    assert (s.fetch_allow_private, s.server_start_timeout, s.dask_address) == (True, 5.0, "tcp://scheduler:8786")


def test_entity_types_are_defined_once() -> None:
    """The entities suite accepts exactly the types the gazetteer loader accepts (it took 5 against 3)."""
    from expectations import DEFAULT_ENTITY_TYPES, ValidationConfig
    from transforms.names.gazetteer import ENTITY_TYPES

    assert DEFAULT_ENTITY_TYPES == ENTITY_TYPES == ValidationConfig().entity_types


def test_atomic_write_leaves_the_old_file_or_the_new_one_and_no_temporary(tmp_path: Path) -> None:
    from warehouse.atomic import atomic_path, atomic_write

    dest = tmp_path / "sub" / "local.yaml"
    atomic_write(dest, "entities: []\n")
    assert dest.read_text(encoding="utf-8") == "entities: []\n"
    def crash() -> None:
        with atomic_path(dest) as tmp:
            tmp.write_text("half a fi", encoding="utf-8")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        crash()
    assert dest.read_text(encoding="utf-8") == "entities: []\n"
    assert [p.name for p in dest.parent.iterdir()] == ["local.yaml"]


def test_one_yaml_loader_rejects_a_duplicate_key_in_rules_and_gazetteer(tmp_path: Path) -> None:
    """The rules loader kept the last of two keys silently; it shares the gazetteer's loader now."""
    from transforms.clean import load_rules
    from transforms.clean.rules import RulesError

    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nrules:\n  - name: sponsor_line\n    patterns: ['brought to you by .{1,60}']\n"
                     "    patterns: ['promoted by .{1,60}']\n", encoding="utf-8")
    with pytest.raises(RulesError, match=rf"{rules}:5: duplicate key 'patterns'"):
        load_rules(rules)
    rules.write_text("version: 1\nrules: [\n", encoding="utf-8")
    with pytest.raises(RulesError, match=rf"{rules}:\d+: invalid YAML"):
        load_rules(rules)


def test_the_noise_expectation_takes_long_ids_from_13_digits_not_phone_numbers() -> None:
    """One definition (rules.yaml's residue rules): an 11-digit mobile number and a 12-digit reference stay
    prose; a 13-digit id (a millisecond timestamp in an image URL) is noise. A 10+ digit pattern would hold
    articles that quote a phone number."""
    import re

    from expectations import DEFAULT_NOISE_PATTERNS

    def noisy(text: str) -> bool:
        return any(re.search(p, text) for p in DEFAULT_NOISE_PATTERNS)

    assert not noisy("Call the ward office on 07701234567 before noon.")
    assert not noisy("The tender, reference 202611280001, closes on Friday.")
    assert not noisy("Dial +9647701234567 from abroad.")
    assert noisy("photo-1732791234567.jpg was left in the text")
