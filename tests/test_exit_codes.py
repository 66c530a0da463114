"""Issue 19: one error hierarchy. Every command maps a CorpusError the same way: one line, no traceback,
the exit code of the README's table (2 bad input or a broken data file, 3 busy warehouse, 4 damaged
catalog). Before, a broken gazetteer was 2 in `ingest` but 1 in `quarantine retry` and a traceback in
`renormalize`, and an unusable warehouse was 2 in `status` but 3 in `compact`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.test_bad_inputs import _broken_gazetteer


def _invoke(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    from flows.cli import app

    result = CliRunner().invoke(app, args, env=env)
    text = result.output + (result.stderr if result.stderr_bytes is not None else "")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        text += f"\nraised {type(result.exception).__name__}: {result.exception}"
    return result.exit_code, text


def _assert_one_line(code: int, text: str, expected: int, needle: str) -> None:
    assert code == expected, text
    assert "Traceback" not in text and "raised " not in text, text
    assert needle in text, text


@pytest.fixture
def empty_home(tmp_path: Path) -> Path:
    """A home with an empty warehouse (no Prefect run needed)."""
    from warehouse import Warehouse

    home = tmp_path / "home"
    with Warehouse(home).writer(5):
        pass
    return home


def test_a_broken_gazetteer_exits_2_in_every_command_that_loads_it(empty_home: Path, tmp_path: Path) -> None:
    gaz, line = _broken_gazetteer(tmp_path / "broken.yaml")
    env = {"CORPUS_HOME": str(empty_home), "CORPUS_GAZETTEER": str(gaz)}
    for args in (["ingest"], ["quarantine", "retry"], ["renormalize"]):
        code, text = _invoke(args, env)
        _assert_one_line(code, text, 2, f"{gaz.name}:{line}")


def test_a_bad_setting_is_a_configuration_error_not_a_system_exit(empty_home: Path) -> None:
    from flows.settings import Settings
    from transforms.errors import ConfigError

    env = {"CORPUS_HOME": str(empty_home), "CORPUS_BATCH_SIZE": "lots"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CORPUS_BATCH_SIZE", "lots")
        with pytest.raises(ConfigError, match="CORPUS_BATCH_SIZE='lots' is not a whole number"):
            Settings.from_env(home=str(empty_home))
    for args in (["ingest"], ["compact"], ["renormalize"], ["quarantine", "retry"]):
        code, text = _invoke(args, env)
        _assert_one_line(code, text, 2, "CORPUS_BATCH_SIZE")
    code, text = _invoke(["ingest", "--batch-size", "0"], {"CORPUS_HOME": str(empty_home)})
    _assert_one_line(code, text, 2, "batch size must be at least 1")


def test_a_busy_warehouse_exits_3_and_a_damaged_catalog_4_in_every_command(empty_home: Path, tmp_path) -> None:
    import subprocess
    import sys
    import time

    env = {"CORPUS_HOME": str(empty_home), "CORPUS_LOCK_TIMEOUT": "0.2"}
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom warehouse import Warehouse\n"
        f"with Warehouse({str(empty_home)!r}).writer(5):\n    print('held', flush=True)\n    time.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for args in (["compact"], ["renormalize"], ["ingest"]):
            code, text = _invoke(args, env)
            _assert_one_line(code, text, 3, "another ingest is writing")
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    bad = tmp_path / "bad_home"
    bad.mkdir()
    (bad / "corpus.duckdb").write_bytes(b"not a database at all" * 100)
    for args in (["status"], ["compact"], ["quarantine", "list"], ["sql", "select 1"]):
        code, text = _invoke(args, {"CORPUS_HOME": str(bad)})
        assert code == 4, (args, text)
        assert "Traceback" not in text, text


def test_a_refused_query_exits_2(empty_home: Path) -> None:
    code, text = _invoke(["sql", "delete from articles"], {"CORPUS_HOME": str(empty_home)})
    _assert_one_line(code, text, 2, "read-only SQL")


def test_an_exit_decided_inside_a_command_is_kept(empty_home: Path) -> None:
    """The decorator passes typer's own exits through: a bad --format is 2, not "the run failed" (1)."""
    code, text = _invoke(["sql", "select 1", "--format", "xml"], {"CORPUS_HOME": str(empty_home)})
    _assert_one_line(code, text, 2, "--format must be table, csv or json")
