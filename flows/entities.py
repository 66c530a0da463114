"""`corpus entities suggest/accept/reject`: read the corpus, cluster unknown names, keep the decisions.

Reads the warehouse read-only (suggestions need no writer lock and no Prefect run). Decisions go
to `HOME/gazetteer/decisions.yaml` and the accepted entities to the generated overlay
`HOME/gazetteer/local.yaml` (formats in transforms/names/decisions.py); both are written under a
small lock of their own, to a temporary name and renamed. The lake is not touched: `corpus
renormalize` re-links the stored articles with the new gazetteer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from flows.settings import Settings
from transforms.errors import GazetteerError, UserError
from transforms.names import Gazetteer, Linker, load_gazetteer
from transforms.names.decisions import (
    Accepted,
    Decisions,
    Rejected,
    accept,
    dump_decisions,
    overlay_yaml,
    parse_decisions,
    reject,
)
from transforms.names.suggest import Cluster, collect_candidates, suggest_clusters
from transforms.records import Mention
from warehouse.atomic import atomic_write
from warehouse.paths import HomeLayout
from warehouse.reader import Snapshot

SCAN_ROWS = 500  # articles fetched from DuckDB at a time


class EntitiesError(UserError):
    """A decision that cannot be made as asked; the message says why."""


@dataclass
class Suggestions:
    clusters: list[Cluster]  # every cluster with >= min_spellings and >= min_count, ranked
    n_articles: int
    n_candidates: int  # distinct unclaimed spellings
    pending: int  # accepted spellings still unclaimed in the lake (renormalize not run yet)


def _paths(home: str | None) -> tuple[Settings, Path, Path]:
    s = Settings.from_env(home=home)
    layout = HomeLayout(s.home)
    return s, layout.decisions, layout.local_gazetteer


def load_decisions(home: str | None = None) -> Decisions:
    """The home's decisions (none when the file does not exist)."""
    _, path, _ = _paths(home)
    if not path.exists():
        return Decisions()
    return parse_decisions(path.read_text(encoding="utf-8"), str(path))


def current_gazetteer(home: str | None = None) -> Gazetteer:
    """The gazetteer runs in this home use: CORPUS_GAZETTEER or the packaged one, plus the local overlay."""
    s, _, _ = _paths(home)
    return load_gazetteer(s.gazetteer_path, overlays=list(s.gazetteer_overlays))


def _scan(home: str | None) -> Iterator[tuple[str, str, list[Mention]]]:
    """(article_id, clean_text, stored body mentions) of every article, streamed."""
    # a private snapshot of the catalog: a long scan never holds corpus.duckdb's lock against a writer
    snap = Snapshot(home)
    try:
        cur = snap.con.execute(
            "WITH ms AS (SELECT article_id, list(start_char ORDER BY start_char) AS s, "
            "list(end_char ORDER BY start_char) AS e FROM mentions WHERE field = 'body' GROUP BY article_id) "
            "SELECT a.article_id, a.clean_text, ms.s, ms.e FROM articles a LEFT JOIN ms USING (article_id) "
            "ORDER BY a.article_id")
        while rows := cur.fetchmany(SCAN_ROWS):
            for aid, text, starts, ends in rows:
                spans = [Mention(s, e, "", "", "", 0.0) for s, e in zip(starts or [], ends or [], strict=True)]
                yield aid, text or "", spans
    finally:
        snap.close()


def suggest(home: str | None = None, min_count: int = 1, min_spellings: int = 2) -> Suggestions:
    """Clusters of unclaimed name spellings in the corpus, largest first, minus rejected pairs."""
    gaz = current_gazetteer(home)
    decisions = load_decisions(home)
    collector = collect_candidates(_scan(home), Linker(gaz), gaz)
    spellings = collector.spellings()
    pending = sum(1 for k in decisions.accepted_keys() if k in collector.unclaimed_keys())
    clusters = suggest_clusters(spellings, decisions.rejected_pairs(), min_count, min_spellings)
    return Suggestions(clusters, collector.n_articles, len(spellings), pending)


def _find(home: str | None, cluster: str) -> Cluster:
    found = [c for c in suggest(home, min_spellings=1).clusters if c.cluster_id == cluster]
    if not found:
        raise EntitiesError(
            f"no cluster {cluster} in the corpus now (its spellings changed, or it was decided already); "
            "run `corpus entities suggest` again")
    return found[0]


def _write(path: Path, text: str) -> None:
    atomic_write(path, text)  # fsynced: an accepted entity survives a power cut


def _lock(home: str | None) -> FileLock:
    _, path, _ = _paths(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path.with_name(".decisions.lock")), timeout=60)


def accept_cluster(home: str | None, cluster: str, entity_id: str | None = None, name: str | None = None,
                   etype: str | None = None) -> Accepted:
    """Make a suggested cluster a gazetteer entity (in the local overlay); returns the decision."""
    s, dpath, opath = _paths(home)
    with _lock(home):
        c = _find(home, cluster)
        decisions = load_decisions(home)
        base = load_gazetteer(s.gazetteer_path)
        taken = {e.entity_id for e in base.entities}
        try:
            acc = accept(decisions, c, taken, entity_id, name, etype)
            overlay = overlay_yaml(decisions)
            # validate the new overlay on top of the base before anything is written
            probe = opath.with_name(f".probe-{uuid.uuid4().hex}.yaml")
            _write(probe, overlay)
            try:
                load_gazetteer(s.gazetteer_path, overlays=[probe])
            finally:
                probe.unlink(missing_ok=True)
        except GazetteerError as exc:
            raise EntitiesError(str(exc)) from exc
        _write(opath, overlay)
        _write(dpath, dump_decisions(decisions))
    return acc


def reject_cluster(home: str | None, cluster: str, spellings: list[str] | None = None) -> Rejected:
    """Record that a cluster's spellings (or just `spellings` against the rest) are not one entity."""
    _, dpath, _ = _paths(home)
    with _lock(home):
        c = _find(home, cluster)
        decisions = load_decisions(home)
        try:
            rej = reject(decisions, c, spellings)
        except GazetteerError as exc:
            raise EntitiesError(str(exc)) from exc
        _write(dpath, dump_decisions(decisions))
    return rej
