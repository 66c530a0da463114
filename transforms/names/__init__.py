"""Names engine: link spellings, calques and surnames of names to canonical entities.

Pure functions of text; the only I/O is loading the packaged gazetteer data.
"""

from .fold import fold, fold_with_map
from .gazetteer import Entity, Gazetteer, GazetteerError, load_gazetteer, parse_gazetteer
from .matcher import Linker
from .normalize import normalize_text
from .skeleton import light_key, skeleton_key

__all__ = [
    "Entity",
    "Gazetteer",
    "GazetteerError",
    "Linker",
    "fold",
    "fold_with_map",
    "light_key",
    "load_gazetteer",
    "normalize_text",
    "parse_gazetteer",
    "skeleton_key",
]
