"""Prefect flows and the `corpus` CLI.

Telemetry and analytics are turned off before Prefect or GX is imported: the machine has no internet.
"""

import os

for _key, _value in {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "PREFECT_UI_ENABLED": os.environ.get("PREFECT_UI_ENABLED", "true"),
}.items():
    os.environ.setdefault(_key, _value)
