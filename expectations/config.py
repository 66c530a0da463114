"""Tunable bounds and patterns for batch validation."""

from __future__ import annotations

import datetime as dt
from dataclasses import astuple, dataclass

from transforms.names.gazetteer import ENTITY_TYPES


# Residual boilerplate that cleaning should have removed: the `residue:` patterns of the cleaning
# rules (transforms/clean/rules.yaml), defined once there. Cleaning removes every match as a
# recorded span (removed_spans, rule residue_*), so an article that still matches one holds
# something cleaning could not explain, and is held back. Each pattern is chosen so that ordinary
# prose survives: an ad size counts only as a whole line, numeric ids need thirteen or more digits
# and never follow "+", captions need the literal "(Credit:" opener.
def _residue_patterns() -> tuple[str, ...]:
    from transforms.clean.rules import default_rules

    return tuple(rule.pattern.pattern for rule in default_rules().residue)


DEFAULT_NOISE_PATTERNS: tuple[str, ...] = _residue_patterns()

# the types a gazetteer entity may have, defined once by the gazetteer's loader
DEFAULT_ENTITY_TYPES: tuple[str, ...] = ENTITY_TYPES


@dataclass
class ValidationConfig:
    """Bounds and patterns the suites check; every field has a working default."""

    min_clean_chars: int = 200  # clean_text length bounds, inclusive
    max_clean_chars: int = 2_000_000
    published_min: dt.date = dt.date(1990, 1, 1)
    published_max_days_ahead: int = 2  # published <= today + this many days
    noise_patterns: tuple[str, ...] = DEFAULT_NOISE_PATTERNS
    entity_types: tuple[str, ...] = DEFAULT_ENTITY_TYPES

    def published_max(self, today: dt.date | None = None) -> dt.date:
        """Latest plausible publication date, relative to `today` (default: the local date)."""
        return (today or dt.date.today()) + dt.timedelta(days=self.published_max_days_ahead)

    def cache_key(self) -> tuple:
        """A hashable snapshot of the settings, used to cache suites built from them."""
        return tuple(tuple(v) if isinstance(v, list) else v for v in astuple(self))
