"""Tunable bounds and patterns for batch validation."""

from __future__ import annotations

import datetime as dt
from dataclasses import astuple, dataclass

# Residual boilerplate that cleaning should have removed. Each pattern is chosen so that ordinary
# prose survives: an ad size counts only as a whole line ("728 x 90" alone, never "a 300 x 250 ad"),
# numeric ids need thirteen or more digits (years, counts and prices are shorter), captions need the
# literal "(Credit:" opener.
AD_SIZE_LINE = r"(?m)^[ \t]*\d{3}[ \t]?[xX×][ \t]?\d{2,3}[ \t]*$"
UUID = r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
# video-embed ids (Brightcove's are 13 digits); 13+ so phone numbers written without spaces (Iraqi mobile
# numbers have 11 digits) pass, and never after "+" (international numbers)
LONG_NUMERIC_ID = r"(?<![+\d])\d{13,}\b"
CREDIT_CAPTION = r"(?i)\(\s*(?:photo\s+)?credits?\s*:"

DEFAULT_NOISE_PATTERNS: tuple[str, ...] = (AD_SIZE_LINE, UUID, LONG_NUMERIC_ID, CREDIT_CAPTION)

DEFAULT_ENTITY_TYPES: tuple[str, ...] = ("PERSON", "ORG", "PLACE", "EVENT", "MISC")


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
