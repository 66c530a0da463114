"""Prefect flows and the `corpus` CLI.

Telemetry and analytics are turned off before Prefect or GX is imported: the machine has no internet.
"""

import os

from transforms.telemetry import turn_off_analytics

turn_off_analytics()
os.environ.setdefault("PREFECT_UI_ENABLED", "true")
# Prefect's temporary server must answer within this; its default (20 s) fails a run on a busy machine
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
