"""Schema migrations: one function per version step, applied in order inside the opening transaction."""

from __future__ import annotations

from collections.abc import Callable

# MIGRATIONS[n] upgrades a warehouse from version n to n + 1.
MIGRATIONS: dict[int, Callable] = {}


def migrate(con, found: int, target: int) -> None:
    """Upgrade the open database from `found` to `target`, or raise when a step is missing."""
    for version in range(found, target):
        step = MIGRATIONS.get(version)
        if step is None:
            from warehouse.store import WarehouseError

            raise WarehouseError(f"no migration from schema version {version} to {version + 1}")
        step(con)
