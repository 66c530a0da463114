"""Where things live under CORPUS_HOME."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = "corpus_data"


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The corpus home: the argument, else $CORPUS_HOME, else ./corpus_data; made absolute."""
    chosen = home if home is not None else os.environ.get("CORPUS_HOME") or DEFAULT_HOME
    return Path(chosen).expanduser().resolve()


@dataclass(frozen=True)
class HomeLayout:
    """Paths of one corpus home."""

    home: Path

    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def archive(self) -> Path:
        return self.home / "archive"

    @property
    def lake(self) -> Path:
        return self.home / "lake"

    @property
    def catalog(self):
        """The DuckLake catalog (HOME/corpus.duckdb, or CORPUS_CATALOG: another file or PostgreSQL)."""
        from warehouse.lake import catalog_for

        # like CORPUS_HOME, a location the warehouse resolves itself (readers and writers, with or without Settings)
        return catalog_for(self.home, self.lake, os.environ.get("CORPUS_CATALOG", ""))

    @property
    def db(self) -> Path:
        """The catalog file (HOME/corpus.duckdb unless CORPUS_CATALOG names another file)."""
        cat = self.catalog
        return cat.path if cat.is_file else self.home / "corpus.duckdb"

    @property
    def search_db(self) -> Path:
        """The derived full-text index (rebuilt by the writer, safe to delete)."""
        return self.home / "search.duckdb"

    @property
    def lock(self) -> Path:
        return self.home / ".writer.lock"

    @property
    def docs(self) -> Path:
        return self.home / "docs"

    @property
    def local_gazetteer(self) -> Path:
        """The overlay of entities accepted with `corpus entities accept` (generated; loaded on top)."""
        return self.home / "gazetteer" / "local.yaml"

    @property
    def decisions(self) -> Path:
        """Accept/reject decisions on suggested clusters (transforms/names/decisions.py)."""
        return self.home / "gazetteer" / "decisions.yaml"

    def ensure(self) -> None:
        for p in (self.home, self.inbox, self.archive, self.lake, self.docs):
            p.mkdir(parents=True, exist_ok=True)
