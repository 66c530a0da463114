"""Issue 16: quiet runs, a new home said out loud, inbox counts, flags shown as flags, usage exits."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from tests.conftest import SAMPLES, run_cli


def _no_prefect_server(env: dict[str, str]) -> dict[str, str]:
    """As a user runs it: no PREFECT_API_URL, so the run starts (and stops) Prefect's temporary server."""
    return {k: v for k, v in env.items() if k != "PREFECT_API_URL"}


@pytest.mark.slow
def test_a_run_is_quiet_by_default_and_verbose_on_request(cli_env, tmp_path):
    home = tmp_path / "typo-home"
    env = {**cli_env, "CORPUS_HOME": str(home)}
    env.pop("CORPUS_LOG_LEVEL", None)
    proc = run_cli(["ingest", "--inbox", str(SAMPLES)], _no_prefect_server(env))
    assert "5 new" in proc.stdout
    # a mistyped --home must not pass for an empty corpus
    assert f"creating a new corpus home at {home}" in proc.stderr
    for noise in ("INFO", "docs.prefect.io", "Created temporary directory", "Starting temporary server"):
        assert noise not in proc.stderr, proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr  # the one line above, nothing else

    extra = tmp_path / "extra"
    extra.mkdir()
    shutil.copy(next(SAMPLES.iterdir()), extra / "again.txt")
    proc = run_cli(["ingest", "--inbox", str(extra), "--verbose"], env)
    assert "1 duplicate" in proc.stdout
    assert "creating a new corpus home" not in proc.stderr
    assert "INFO" in proc.stderr and "Beginning flow run" in proc.stderr


def test_corpus_log_level_sets_the_console_level(monkeypatch):
    import logging

    from flows import cli

    for handler in logging.getLogger().handlers:  # _console_logs also sets a live Prefect handler's level
        monkeypatch.setattr(handler, "level", handler.level)
    monkeypatch.delenv("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", raising=False)
    monkeypatch.setenv("CORPUS_LOG_LEVEL", "info")
    cli._console_logs(verbose=False)
    assert os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] == "INFO"
    monkeypatch.delenv("CORPUS_LOG_LEVEL")
    cli._console_logs(verbose=False)
    assert os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] == "WARNING"
    cli._console_logs(verbose=True)
    assert os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] == "INFO"


def test_status_counts_the_files_waiting_in_the_inbox(cli_env, sample_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(sample_home, home)
    env = {**cli_env, "CORPUS_HOME": str(home)}
    assert "inbox: 0 file(s) waiting" in run_cli(["status"], env).stdout
    run_cli(["add", *map(str, sorted(SAMPLES.iterdir())[:2])], env)
    assert "inbox: 2 file(s) waiting" in run_cli(["status"], env).stdout


@pytest.mark.parametrize("command", [["ingest"], ["renormalize"], ["quarantine", "list"], ["add"]])
def test_flags_are_shown_as_flags_in_help(cli_env, command):
    proc = run_cli([*command, "--help"], {**cli_env, "COLUMNS": "200"})
    assert "<bool>" not in proc.stdout
    if command[0] in ("ingest", "renormalize"):
        assert re.search(r"--json\s+Print the summary as JSON", proc.stdout), proc.stdout


def test_adding_a_missing_path_is_a_usage_error(cli_env, tmp_path):
    proc = run_cli(["add", str(tmp_path / "no-such-file.txt")], {**cli_env, "CORPUS_HOME": str(tmp_path / "h")},
                   check=False)
    assert proc.returncode == 2
    assert "no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_an_empty_quarantine_says_nothing_is_held(cli_env, sample_home):
    proc = run_cli(["quarantine", "list"], {**cli_env, "CORPUS_HOME": str(sample_home)})
    assert proc.stdout.strip() == "nothing is held"


def test_a_bad_log_level_is_a_usage_error(cli_env, tmp_path):
    env = {**cli_env, "CORPUS_HOME": str(tmp_path / "h"), "CORPUS_LOG_LEVEL": "chatty"}
    proc = run_cli(["ingest", "--inbox", str(tmp_path)], env, check=False)
    assert proc.returncode == 2 and "CORPUS_LOG_LEVEL" in proc.stderr



def test_duplicates_record_which_source_duplicated_which_article(sample_home, tmp_path, prefect_server):

    from flows.ops import run_ingest

    home = tmp_path / "home"
    shutil.copytree(sample_home, home)
    original = sorted(SAMPLES.iterdir())[0]
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(original, drop / "copy-of-first.txt")  # the same bytes under another name
    text = original.read_text(encoding="utf-8")
    (drop / "first-as-utf16.txt").write_bytes(text.encode("utf-16"))  # other bytes, the same text
    summary = run_ingest(home=str(home), inbox=str(drop))
    assert summary["n_duplicate"] == 2, summary
    from warehouse import connect_readonly
    con = connect_readonly(home)
    try:
        rows = con.execute(
            "SELECT d.source_name, d.reason, a.source_name FROM duplicates d JOIN articles a USING (article_id) "
            "ORDER BY d.source_name").fetchall()
    finally:
        con.close()
    assert rows == [
        ("copy-of-first.txt", "same_bytes", original.name),
        ("first-as-utf16.txt", "same_text", original.name),
    ]
