"""Issue 16: every command prints data as it is stored (no Rich markup, no emoji codes, no raw ANSI)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

ESC = "\x1b"
# Titles, texts and quarantine details of real pages hold all of these.
TRICKY = ("[/vc_column_text]", "[b]", ":smile:", "[the minister]")


def _article(title: str, who: tuple[str, str]) -> dict[str, str]:
    a, b = who
    text = (
        f"The council met on Tuesday. {a} told reporters that [the minister] would resign :smile: before the vote. "
        f"Later that day {b} repeated the claim [/vc_column_text] and added [b]nothing[/b] more. "
        "Members of the council said the session would continue next week, after the budget talks end, "
        f"and that {a} had asked for a delay. Colour codes {ESC}[31mred{ESC}[0m were pasted into the page."
    )
    return {"title": title, "text": text}


@pytest.fixture(scope="module")
def tricky_home(tmp_path_factory, prefect_server) -> Path:
    """A home whose titles, texts, file names and quarantine details hold markup, emoji codes and ESC."""
    from flows.ops import run_ingest
    from warehouse import Warehouse

    home = tmp_path_factory.mktemp("tricky")
    inbox = home / "drop"
    inbox.mkdir()
    records = [
        _article(f"Budget [/x] row :smile: {ESC}[31mred title", ("Tarek Bassoumi", "Tariq Basumi")),
        _article("He said [the minister] would resign [b]", ("Tariq Bassoumi", "Tarek Basumi")),
        {"title": "no text here [/x]"},  # a record with no text: a quarantine row
    ]
    (inbox / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    summary = run_ingest(home=str(home), inbox=str(inbox))
    assert summary["n_new"] == 2, summary
    with Warehouse(home).writer(10) as writer:
        writer.record_quarantine(
            [
                {
                    "source_name": f"page [b]{ESC}[2J.html",
                    "stage": "clean",
                    "reason": "too_short",
                    "detail": "the page line '[/vc_column_text] [b]bold :smile:' is all that is left " + ESC + "[31m",
                }
            ],
            run_id="by-hand",
        )
    return home


def _env(cli_env: dict[str, str], home: Path) -> dict[str, str]:
    return {**cli_env, "CORPUS_HOME": str(home), "COLUMNS": "400"}


def _verbatim(text: str) -> None:
    assert ESC not in text, "a raw ESC reached the output"
    for s in TRICKY:
        assert s in text, f"{s!r} was not printed as it is"
    assert "\\x1b[31m" in text  # the escape is shown, visibly


def test_status_prints_quarantine_details_verbatim(cli_env, tricky_home):
    proc = run_cli(["status"], _env(cli_env, tricky_home))
    for piece in ("'[/vc_column_text] [b]bold", ":smile:'", "\\x1b[31m", "page [b]\\x1b[2J.html"):
        assert piece in proc.stdout, piece
    assert ESC not in proc.stdout and "😄" not in proc.stdout


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_quarantine_list_prints_rows_verbatim(cli_env, tricky_home, fmt):
    proc = run_cli(["quarantine", "list", "--format", fmt], _env(cli_env, tricky_home))
    out = proc.stdout
    if fmt == "json":
        details = [r["detail"] for r in json.loads(out)]
        assert any("[/vc_column_text] [b]bold :smile:" in d and d.endswith(ESC + "[31m") for d in details)
    elif fmt == "csv":  # piped: the data byte for byte
        rows = list(csv.DictReader(io.StringIO(out)))
        assert any(r["detail"].endswith("[/vc_column_text] [b]bold :smile:' is all that is left " + ESC + "[31m")
                   for r in rows)
    else:
        # table cells wrap: look for pieces
        for piece in ("'[/vc_column_text] [b]bold", ":smile:'", "\\x1b[31m", "page [b]\\x1b[2J.html"):
            assert piece in out, piece
        assert ESC not in out


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_sql_prints_values_verbatim_in_every_format(cli_env, tricky_home, fmt):
    q = ("select title, clean_text from articles union all "
         "select 'He said [the minister] would resign :thumbs_up: [/x] ' || chr(27) || '[31m', '[b]' "
         "order by title")
    proc = run_cli(["sql", q, "--format", fmt], _env(cli_env, tricky_home))
    if fmt == "json":
        rows = json.loads(proc.stdout)
        titles = [r["title"] for r in rows]
        assert "He said [the minister] would resign :thumbs_up: [/x] " + ESC + "[31m" in titles
        assert f"Budget [/x] row :smile: {ESC}[31mred title" in titles
        assert ESC not in proc.stdout  # JSON writes it as \u001b
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(proc.stdout)))
        assert "He said [the minister] would resign :thumbs_up: [/x] " + ESC + "[31m" in [r["title"] for r in rows]
    else:
        assert "He said [the minister] would resign :thumbs_up: [/x] \\x1b[31m" in proc.stdout
        assert "Budget [/x] row :smile: \\x1b[31mred title" in proc.stdout
        assert "👍" not in proc.stdout
        _verbatim(proc.stdout)


def test_sql_column_names_are_data_too(cli_env, tricky_home):
    proc = run_cli(["sql", 'select 1 as "[b]bold[/b] :smile:"'], _env(cli_env, tricky_home))
    assert "[b]bold[/b] :smile:" in proc.stdout


def test_entities_suggest_prints_names_and_examples_verbatim(cli_env, tricky_home):
    proc = run_cli(["entities", "suggest", "--min-spellings", "2"], _env(cli_env, tricky_home))
    assert "Bassoumi" in proc.stdout or "Basumi" in proc.stdout, proc.stdout
    assert ESC not in proc.stdout and "😄" not in proc.stdout
    assert "[the minister]" in proc.stdout or "[/vc_column_text]" in proc.stdout or ":smile:" in proc.stdout


def test_file_names_in_messages_are_printed_verbatim(cli_env, tmp_path):
    odd = tmp_path / "[b]note :smile: [the minister].txt"
    odd.write_text("x" * 300, encoding="utf-8")
    home = tmp_path / "[/home]"
    proc = run_cli(["add", str(odd)], _env(cli_env, home))
    assert f"creating a new corpus home at {home}" in proc.stderr
    proc = run_cli(["add", str(tmp_path / "[/missing] :smile:.txt")], _env(cli_env, home), check=False)
    assert "[/missing] :smile:.txt" in proc.stderr and "Traceback" not in proc.stderr
