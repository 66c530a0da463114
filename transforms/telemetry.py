"""The analytics opt-outs, defined once: the machine has no internet, and neither Prefect nor Great
Expectations may try to post usage statistics. `turn_off_analytics()` runs before either is imported
(flows/__init__.py, expectations/__init__.py, the tests' conftest, the benches); servers started as
child processes get `ANALYTICS_OFF` in their environment. The Makefile exports the same three for
tools it runs directly (`make server`)."""

from __future__ import annotations

import os
from collections.abc import MutableMapping

ANALYTICS_OFF: dict[str, str] = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
}


def turn_off_analytics(env: MutableMapping[str, str] | None = None) -> None:
    """Set the opt-outs in `env` (default: this process's environment) unless already set."""
    target = os.environ if env is None else env
    for key, value in ANALYTICS_OFF.items():
        target.setdefault(key, value)
