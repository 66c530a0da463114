"""Parquet lake + DuckDB: the only package that writes."""

from warehouse.paths import HomeLayout, resolve_home
from warehouse.store import Warehouse, WarehouseBusy, WarehouseError, WarehouseWriter, connect_readonly

__all__ = [
    "HomeLayout", "Warehouse", "WarehouseBusy", "WarehouseError", "WarehouseWriter", "connect_readonly",
    "resolve_home",
]
