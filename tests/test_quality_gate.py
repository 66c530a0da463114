"""The quality gate: score.py on the sample warehouse must stay at or above the stored floors."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import shared_path

FLOORS = json.loads((Path(__file__).parent / "quality_floors.json").read_text())


def test_gold_file_is_the_one_the_floors_were_set_on():
    gold = shared_path("gold", "seeds.json")
    assert hashlib.sha256(gold.read_bytes()).hexdigest() == FLOORS["gold_sha256"], (
        "the gold file changed: re-measure and update tests/quality_floors.json on purpose")


def test_scores_meet_floors(sample_home):
    proc = subprocess.run(
        [sys.executable, str(shared_path("eval", "score.py")), "--home", str(sample_home),
         "--gold", str(shared_path("gold", "seeds.json")), "--json"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    below = {k: (got[k], floor) for k, floor in FLOORS["floors"].items() if (got[k] or 0) < floor}
    wrong = {n: d["wrong"] for n, d in got["per_article"].items() if d["wrong"]}
    assert not below, f"below floor (got, floor): {below}; per-article misses: {wrong}"
