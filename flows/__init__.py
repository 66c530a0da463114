"""Prefect flows and the `corpus` CLI.

Telemetry and analytics are turned off before Prefect or GX is imported: the machine has no internet.
"""

import os

from transforms.telemetry import turn_off_analytics

turn_off_analytics()
os.environ.setdefault("PREFECT_UI_ENABLED", "true")
