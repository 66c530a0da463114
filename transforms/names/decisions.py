"""The decisions file of `corpus entities accept/reject`, and the gazetteer overlay it yields (pure).

``CORPUS_HOME/gazetteer/decisions.yaml`` (written by flows/entities.py)::

    version: 3                  # +1 on every decision
    accepted:                   # clusters that became gazetteer entities
      - cluster: c1a2b3c4d
        id: hamid-al-kaabi
        name: Hamid al-Kaabi
        type: PERSON
        spellings: [Hamid al-Kaabi, Hameed al-Kaabi]
        surnames: [Kaabi]       # one-word spellings seen alone: linked after the full name
        decided_at: "2024-05-01T10:00:00+00:00"
    rejected:                   # spellings that are not one entity; no pair of them is proposed again
      - cluster: c5e6f7a8b
        spellings: [Hassan Jaburi, Hussein Jaburi]
        pairs: [[hassan jaburi, hussein jaburi]]   # folded spellings kept apart
        decided_at: "..."

``CORPUS_HOME/gazetteer/local.yaml`` is generated from it (never edit it by hand): a gazetteer
in the format of ``gazetteer.yaml`` holding the accepted entities, loaded on top of the packaged
(or CORPUS_GAZETTEER) gazetteer by ingest and renormalize.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import yaml

from ..errors import GazetteerError
from .fold import fold
from .gazetteer import ENTITY_TYPES
from .suggest import Cluster

_ID_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass
class Accepted:
    cluster: str
    id: str
    name: str
    type: str
    spellings: list[str]
    surnames: list[str] = field(default_factory=list)
    decided_at: str = ""


@dataclass
class Rejected:
    cluster: str
    spellings: list[str]
    pairs: list[tuple[str, str]]
    decided_at: str = ""


@dataclass
class Decisions:
    version: int = 0
    accepted: list[Accepted] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def rejected_pairs(self) -> set[tuple[str, str]]:
        """Folded spelling pairs that must never share a cluster."""
        return {p for r in self.rejected for p in r.pairs}

    def accepted_keys(self) -> set[str]:
        """Folded forms of every accepted spelling."""
        return {fold(s) for a in self.accepted for s in a.spellings + a.surnames}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def entity_slug(name: str) -> str:
    """An entity id made from a name: folded, words joined by hyphens (Hamid al-Kaabi -> hamid-al-kaabi)."""
    ascii_ = re.sub(r"[^a-z0-9]+", "-", " ".join(name.lower().replace("’", "").replace("'", "").split()))
    slug = ascii_.strip("-")
    if not slug:
        slug = "entity-" + re.sub(r"[^a-z0-9]", "", fold(name).encode("unicode_escape").decode().lower())[:12]
    return slug


def parse_decisions(text: str, name: str = "decisions.yaml") -> Decisions:
    """Read a decisions file (an empty text is no decisions)."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise GazetteerError(f"{name}: YAML error: {exc}") from exc
    if not isinstance(data, dict):
        raise GazetteerError(f"{name}: expected a mapping with version, accepted, rejected")
    try:
        acc = [Accepted(str(a["cluster"]), str(a["id"]), str(a["name"]), str(a["type"]),
                        [str(s) for s in a["spellings"]], [str(s) for s in a.get("surnames") or []],
                        str(a.get("decided_at", ""))) for a in data.get("accepted") or []]
        rej = [Rejected(str(r["cluster"]), [str(s) for s in r["spellings"]],
                        [(str(p[0]), str(p[1])) for p in r.get("pairs") or []], str(r.get("decided_at", "")))
               for r in data.get("rejected") or []]
    except (KeyError, TypeError, IndexError) as exc:
        raise GazetteerError(f"{name}: malformed decision: {exc!r}") from exc
    return Decisions(int(data.get("version") or 0), acc, rej)


def dump_decisions(d: Decisions) -> str:
    """YAML text of the decisions."""
    data: dict[str, Any] = {
        "version": d.version,
        "accepted": [
            {"cluster": a.cluster, "id": a.id, "name": a.name, "type": a.type, "spellings": a.spellings,
             **({"surnames": a.surnames} if a.surnames else {}), "decided_at": a.decided_at}
            for a in d.accepted
        ],
        "rejected": [
            {"cluster": r.cluster, "spellings": r.spellings, "pairs": [list(p) for p in r.pairs],
             "decided_at": r.decided_at}
            for r in d.rejected
        ],
    }
    header = ("# Decisions of `corpus entities accept/reject` (transforms/names/decisions.py documents the\n"
              "# format). gazetteer/local.yaml is generated from this file.\n")
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def accept(d: Decisions, cluster: Cluster, taken_ids: set[str], entity_id: str | None = None,
           name: str | None = None, etype: str | None = None) -> Accepted:
    """Record that a cluster is one entity (returned), checking id and type; d is updated."""
    name = (name or cluster.best_name).strip()
    eid = entity_id or entity_slug(name)
    if not _ID_RE.fullmatch(eid):
        raise GazetteerError(f"entity id must be a lower-case slug like hamid-al-kaabi, got {eid!r}")
    if eid in taken_ids or any(a.id == eid for a in d.accepted):
        raise GazetteerError(f"entity id {eid!r} is taken; choose another with --id")
    etype = (etype or "PERSON").upper()
    if etype not in ENTITY_TYPES:
        raise GazetteerError(f"type must be one of {', '.join(ENTITY_TYPES)}, got {etype!r}")
    spellings = [s.text for s in cluster.names]
    if fold(name) not in {s.key for s in cluster.members}:
        spellings.insert(0, name)
    acc = Accepted(cluster.cluster_id, eid, name, etype, spellings, [s.text for s in cluster.surnames], _now())
    d.accepted.append(acc)
    d.version += 1
    return acc


def reject(d: Decisions, cluster: Cluster, only: list[str] | None = None) -> Rejected:
    """Record that a cluster's spellings are not one entity (returned); d is updated.

    only: keep just these spellings apart from the rest of the cluster (the others may stay together).
    """
    keys = [s.key for s in cluster.members]
    if only:
        wanted = {fold(s) for s in only}
        unknown = wanted - set(keys)
        if unknown:
            raise GazetteerError(f"not in cluster {cluster.cluster_id}: {', '.join(sorted(unknown))}")
        pairs = sorted({tuple(sorted((a, b))) for a in wanted for b in keys if b not in wanted})
    else:
        pairs = sorted(tuple(sorted(p)) for p in combinations(keys, 2))
    rej = Rejected(cluster.cluster_id, [s.text for s in cluster.members], [(a, b) for a, b in pairs], _now())
    d.rejected.append(rej)
    d.version += 1
    return rej


def overlay_yaml(d: Decisions) -> str:
    """The gazetteer overlay (local.yaml) that holds the accepted entities."""
    entities = []
    for a in d.accepted:
        e: dict[str, Any] = {"id": a.id, "canonical_name": a.name, "type": a.type,
                             "aliases": list(dict.fromkeys(a.spellings))}
        if a.surnames:
            # a surname alone links only after the full name in the same article (it may be common)
            e["surnames"] = list(dict.fromkeys(a.surnames))
            e["coref"] = "after_full"
        entities.append(e)
    header = ("# GENERATED from decisions.yaml by `corpus entities accept`; do not edit.\n"
              "# Loaded on top of the packaged gazetteer (transforms/names/gazetteer.yaml documents the format).\n")
    body = {"version": f"local-{d.version}", "entities": entities}
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)
