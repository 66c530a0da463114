"""The --dump / --compare files of the speed benches: one JSON object per document and line, keyed by "doc"."""

from __future__ import annotations

import json
from pathlib import Path


def write_dump(path: Path, rows: list[dict], command: str) -> int:
    """Write `rows` to `path` and print the one-line summary; the bench's exit code (0)."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(json.dumps({"documents": len(rows), "dumped": str(path), "command": command}))
    return 0


def read_dump(path: Path) -> dict[str, dict]:
    """An earlier --dump file, by document; a clear error when it cannot be read."""
    try:
        return {r["doc"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"error: cannot read {path} as a --dump file: {exc}") from None
