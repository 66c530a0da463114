"""What filling `quarantine.archive_path` costs: `WarehouseWriter.archive_paths` for N held hashes.

usage: python bench/quarantine_paths.py [--records 50000] [--blobs 1000] [--batch 1000]

Builds a temporary archive the way a run leaves it: one `.jsonl` blob whose N records are found by
locator (archive/records.sqlite, the issue-17 case: most records of a big `.jsonl` held by validation)
and `--blobs` files with blobs of their own. Then resolves every hash `--batch` at a time, as the
landing of each batch does (one call per batch). Prints one JSON line: CPU and wall seconds in total
and per 1,000 rows (CPU does not depend on the machine's load; wall does).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--blobs", type=int, default=1_000)
    ap.add_argument("--batch", type=int, default=1_000)
    a = ap.parse_args()
    from warehouse.archive import add_locators, archive_bytes
    from warehouse.paths import HomeLayout
    from warehouse.store import WarehouseWriter

    with tempfile.TemporaryDirectory() as tmp:
        layout = HomeLayout(Path(tmp))
        lines = [json.dumps({"text": f"record {i}"}).encode() + b"\n" for i in range(a.records)]
        data = b"".join(lines)
        file_sha, _ = archive_bytes(layout.archive, data, durable=False)
        locators, shas, pos = [], [], 0
        for line in lines:
            sha = hashlib.sha256(line).hexdigest()
            locators.append((sha, file_sha, pos, pos + len(line)))
            shas.append(sha)
            pos += len(line)
        add_locators(layout.archive, locators)
        for i in range(a.blobs):
            shas.append(archive_bytes(layout.archive, f"article {i}".encode(), durable=False)[0])
        writer = WarehouseWriter.__new__(WarehouseWriter)  # only `layout` is used: no catalog needed
        writer.layout = layout
        cpu, wall, found = time.process_time(), time.perf_counter(), 0
        for i in range(0, len(shas), a.batch):
            found += len(writer.archive_paths(shas[i:i + a.batch]))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    n = len(shas)
    print(json.dumps({"rows": n, "found": found, "batch": a.batch, "cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
                      "cpu_ms_per_1000": round(1000 * cpu / n * 1000, 2),
                      "wall_ms_per_1000": round(1000 * wall / n * 1000, 2), "load": os.getloadavg()[0]}))
    return 0 if found == n else 1


if __name__ == "__main__":
    sys.exit(main())
