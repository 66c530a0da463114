"""Load and validate the gazetteer (``gazetteer.yaml``; its header documents the format)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import GazetteerError
from ..yaml_lines import LineList, LineMap, load_yaml
from .context import anchored_end
from .fold import fold

ENTITY_TYPES = ("PERSON", "ORG", "PLACE")
_TOP_KEYS = {"version", "titles", "name_stopwords", "topical_words", "coref", "blockers", "entities", "calques"}
_ENTITY_KEYS = {
    "id",
    "when",
    "canonical_name",
    "type",
    "aliases",
    "acronyms",
    "arabic",
    "surnames",
    "names",
    "coref",
    "skeleton",
    "topical",
}
# `names:` of an entity: language code -> names in that language; these scripts are folded as Arabic
_ARABIC_SCRIPT_LANGS = {"ar", "fa", "ckb", "ur"}
_LANG = re.compile(r"[a-z]{2,3}")
_LANG_KEYS = {"names", "surnames", "acronyms"}
_ALIAS_KEYS = {"name", "case_sensitive", "when", "weak"}
_ACRONYM_KEYS = {"form", "when"}
_CALQUE_KEYS = {"phrase", "entity", "when"}
_COREF_KEYS = {"blocked_if_followed_by", "blocked_if_preceded_by", "acronym_blocked_if_followed_by"}
_REGEX_CONDITIONS = {"preceded_by", "not_preceded_by", "followed_by", "not_followed_by"}
_CONDITION_KEYS = _REGEX_CONDITIONS | {
    "any",
    "article_mentions",
    "near_entities",
    "not_near_entities",
    "near_text",
    "not_near_text",
    "all",
    "not_in_caps_context",
}


@dataclass(frozen=True, slots=True)
class NameSpec:
    """One matchable name of an entity (or a blocker, entity_id None)."""

    name: str
    entity_id: str | None
    kind: str  # alias | arabic | surname | acronym | calque | blocker
    case_sensitive: bool = False
    when: dict[str, Any] | None = None
    weak: bool = False  # also an ordinary word or given name: links only with topical support


@dataclass(frozen=True, slots=True)
class Entity:
    """A canonical entity: the row of the `entities` table plus its matchable names."""

    entity_id: str
    canonical_name: str
    type: str
    aliases: list[str]  # every surface name (Latin aliases, surnames, acronyms, Arabic), deduplicated
    coref: str = "unique"
    skeleton: bool = True
    names: tuple[NameSpec, ...] = ()
    topical: bool = True  # tied to the desk's region: its strong mentions support weak forms


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """The loaded gazetteer: entities, calques, blockers and the word lists for matching."""

    version: str
    path: str
    entities: tuple[Entity, ...]
    calques: tuple[NameSpec, ...]
    blockers: tuple[NameSpec, ...]
    titles: frozenset[str] = field(default_factory=frozenset)
    name_stopwords: frozenset[str] = field(default_factory=frozenset)
    topical_words: tuple[str, ...] = ()
    coref_blocked_if_followed_by: frozenset[str] = field(default_factory=frozenset)
    coref_blocked_if_preceded_by: frozenset[str] = field(default_factory=frozenset)
    acronym_blocked_if_followed_by: frozenset[str] = field(default_factory=frozenset)

    def entity(self, entity_id: str) -> Entity:
        """The entity with this id (KeyError if none)."""
        for e in self.entities:
            if e.entity_id == entity_id:
                return e
        raise KeyError(entity_id)

    def all_names(self) -> list[NameSpec]:
        """Every name spec: entity names, calques, blockers."""
        out = [n for e in self.entities for n in e.names]
        return out + list(self.calques) + list(self.blockers)


# ----------------------------------------------------------------------------- YAML with lines


_Map, _Seq = LineMap, LineList  # YAML with lines: transforms/yaml_lines.py, shared with the cleaning rules


def default_path() -> Path:
    """Path of the packaged gazetteer.yaml."""
    return Path(str(resources.files("transforms.names").joinpath("gazetteer.yaml")))


def load_gazetteer(path: str | Path | None = None, overlays: Sequence[str | Path] = ()) -> Gazetteer:
    """Load and validate a gazetteer file (the packaged one by default), plus overlay files on top.

    An overlay has the same format; its entities and word lists are added to the base's (an
    entity id may not repeat) and its version is appended to the base's ("1.0.0+local-3").
    """
    p = Path(path) if path is not None else default_path()
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GazetteerError(f"{p}: cannot read gazetteer: {exc}") from exc
    if not overlays:
        return parse_gazetteer(text, str(p))
    data = _load_data(text, str(p))
    names = [str(p)]
    for o in overlays:
        try:
            otext = Path(o).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise GazetteerError(f"{o}: cannot read gazetteer overlay: {exc}") from exc
        data = _merge_overlay(data, _load_data(otext, str(o)), str(o))
        names.append(str(o))
    return _Validator(" + ".join(names)).gazetteer(data)


def _merge_overlay(base: Any, over: Any, name: str) -> Any:
    """base with an overlay's lists appended and its version joined to the base's."""
    if not isinstance(base, dict) or not isinstance(over, dict):
        raise GazetteerError(f"{name}:1: a gazetteer overlay must be a mapping")
    unknown = sorted(set(over) - _TOP_KEYS)
    if unknown:
        raise GazetteerError(f"{name}:1: unknown field(s) {unknown} in the overlay; allowed: {sorted(_TOP_KEYS)}")
    merged = _Map(base)
    merged.line = getattr(base, "line", 0)
    for key, value in over.items():
        if key == "version":
            merged["version"] = f"{base.get('version')}+{value}"
        elif key == "coref":
            coref = _Map(base.get("coref") or {})
            for k, v in (value or {}).items():
                coref[k] = list(coref.get(k) or []) + list(v or [])
            merged["coref"] = coref
        elif value:
            seq = _Seq(list(base.get(key) or []) + list(value))
            seq.line = getattr(value, "line", 0)
            merged[key] = seq
    return merged


def _load_data(text: str, name: str) -> Any:
    """YAML data of a gazetteer file, with line numbers, before validation."""
    return load_yaml(text, name, GazetteerError)


def parse_gazetteer(text: str, name: str = "<gazetteer>") -> Gazetteer:
    """Parse and validate gazetteer YAML text; `name` is used in error messages."""
    return _Validator(name).gazetteer(_load_data(text, name))


# ----------------------------------------------------------------------------- validation


class _Validator:
    def __init__(self, name: str):
        self.name = name

    def fail(self, obj: Any, msg: str) -> GazetteerError:
        line = getattr(obj, "line", 0) or "?"
        return GazetteerError(f"{self.name}:{line}: {msg}")

    def keys(self, obj: Any, allowed: set[str], what: str) -> None:
        if not isinstance(obj, dict):
            raise self.fail(obj, f"{what} must be a mapping, got {type(obj).__name__}")
        unknown = sorted(set(obj) - allowed)
        if unknown:
            raise self.fail(obj, f"unknown field(s) {unknown} in {what}; allowed: {sorted(allowed)}")

    def strings(self, obj: Any, what: str, parent: Any) -> list[str]:
        if obj is None:
            return []
        if not isinstance(obj, list) or not all(isinstance(s, str) and s.strip() for s in obj):
            raise self.fail(obj if hasattr(obj, "line") else parent, f"{what} must be a list of non-empty strings")
        return [s.strip() for s in obj]

    def condition(self, cond: Any, ids: set[str], where: Any) -> dict[str, Any]:
        self.keys(cond if isinstance(cond, dict) else where, _CONDITION_KEYS, "condition")
        if not isinstance(cond, dict):
            raise self.fail(where, "condition must be a mapping")
        for k, v in cond.items():
            if k in ("any", "all"):
                if not isinstance(v, list) or not v:
                    raise self.fail(cond, f"`{k}` must be a non-empty list of conditions")
                for sub in v:
                    self.condition(sub, ids, cond)
            elif k in _REGEX_CONDITIONS:
                self.regex(v, cond)
            elif k == "article_mentions":
                for i in self.strings(v, k, cond):
                    if i not in ids:
                        raise self.fail(cond, f"{k}: unknown entity id {i!r}")
            elif k in ("near_entities", "not_near_entities"):
                self.keys(v, {"ids", "chars"}, k)
                for i in self.strings(v.get("ids"), f"{k}.ids", v):
                    if i not in ids:
                        raise self.fail(v, f"{k}: unknown entity id {i!r}")
                if not isinstance(v.get("chars"), int) or v["chars"] <= 0:
                    raise self.fail(v, f"{k}.chars must be a positive integer")
            elif k in ("near_text", "not_near_text"):
                self.keys(v, {"pattern", "chars"}, k)
                self.regex(v.get("pattern"), v)
                if not isinstance(v.get("chars"), int) or v["chars"] <= 0:
                    raise self.fail(v, "near_text.chars must be a positive integer")
            elif k == "not_in_caps_context" and v is not True:
                raise self.fail(cond, "not_in_caps_context must be true")
        return dict(cond)

    def regex(self, pattern: Any, where: Any) -> None:
        if not isinstance(pattern, str):
            raise self.fail(where, "a regex condition must be a string")
        try:
            re.compile(anchored_end(pattern))
        except re.error as exc:
            raise self.fail(where, f"bad regex {pattern!r}: {exc}") from exc

    def name_list(self, raw: Any, eid: str | None, kind: str, ids: set[str], parent: Any) -> list[NameSpec]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise self.fail(parent, f"{kind} of {eid} must be a list")
        out = []
        for item in raw:
            if isinstance(item, str):
                if not item.strip():
                    raise self.fail(raw, f"empty {kind} in {eid}")
                out.append(NameSpec(item.strip(), eid, kind, kind == "acronym"))
            elif isinstance(item, dict):
                key = "form" if kind == "acronym" else "name"
                self.keys(item, _ACRONYM_KEYS if kind == "acronym" else _ALIAS_KEYS, f"{kind} of {eid}")
                nm = item.get(key)
                if not isinstance(nm, str) or not nm.strip():
                    raise self.fail(item, f"{kind} of {eid} needs a non-empty `{key}`")
                when = self.condition(item["when"], ids, item) if "when" in item else None
                cs = bool(item.get("case_sensitive", kind == "acronym"))
                weak = item.get("weak", False)
                if not isinstance(weak, bool):
                    raise self.fail(item, f"{kind} of {eid}: weak must be true or false")
                out.append(NameSpec(nm.strip(), eid, kind, cs, when, weak))
            else:
                raise self.fail(raw, f"{kind} of {eid}: expected a string or a mapping, got {item!r}")
        return out

    def language_names(self, raw: Any, eid: str, ids: set[str], parent: Any) -> list[NameSpec]:
        """`names: {lang: [alias, ...] | {names: [...], surnames: [...], acronyms: [...]}}`."""
        if raw is None:
            return []
        if not isinstance(raw, dict):
            raise self.fail(parent, f"names of {eid} must be a mapping of language code to names")
        out: list[NameSpec] = []
        for lang, val in raw.items():
            if not isinstance(lang, str) or not _LANG.fullmatch(lang):
                raise self.fail(raw, f"names of {eid}: language must be a 2-3 letter code, got {lang!r}")
            kind = "arabic" if lang in _ARABIC_SCRIPT_LANGS else "alias"
            if isinstance(val, dict):
                self.keys(val, _LANG_KEYS, f"names.{lang} of {eid}")
                out += self.name_list(val.get("names"), eid, kind, ids, val)
                out += self.name_list(val.get("surnames"), eid, "surname", ids, val)
                out += self.name_list(val.get("acronyms"), eid, "acronym", ids, val)
            else:
                out += self.name_list(val, eid, kind, ids, raw)
        return out

    def gazetteer(self, data: Any) -> Gazetteer:
        if not isinstance(data, dict):
            raise GazetteerError(f"{self.name}:1: the gazetteer must be a mapping with `version` and `entities`")
        self.keys(data, _TOP_KEYS, "the gazetteer")
        version = data.get("version")
        if not isinstance(version, str | int | float) or isinstance(version, bool) or str(version).strip() == "":
            raise self.fail(data, "`version` is required (a string)")
        ents_raw = data.get("entities")
        if not isinstance(ents_raw, list) or not ents_raw:
            raise self.fail(data, "`entities` must be a non-empty list")
        ids: set[str] = set()
        for e in ents_raw:
            self.keys(e, _ENTITY_KEYS, "an entity")
            eid = e.get("id")
            if not isinstance(eid, str) or not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", eid):
                raise self.fail(e, f"entity id must be a lower-case slug, got {eid!r}")
            if eid in ids:
                raise self.fail(e, f"duplicate entity id {eid!r}")
            ids.add(eid)
        entities = []
        for e in ents_raw:
            eid = e["id"]
            cname = e.get("canonical_name")
            if not isinstance(cname, str) or not cname.strip():
                raise self.fail(e, f"{eid}: canonical_name is required")
            etype = e.get("type")
            if etype not in ENTITY_TYPES:
                raise self.fail(e, f"{eid}: type must be one of {ENTITY_TYPES}, got {etype!r}")
            coref = e.get("coref", "unique")
            if coref not in ("unique", "after_full"):
                raise self.fail(e, f"{eid}: coref must be unique or after_full")
            skel = e.get("skeleton", True)
            if not isinstance(skel, bool):
                raise self.fail(e, f"{eid}: skeleton must be true or false")
            topical = e.get("topical", True)
            if not isinstance(topical, bool):
                raise self.fail(e, f"{eid}: topical must be true or false")
            aliases = self.name_list(e.get("aliases"), eid, "alias", ids, e)
            # the canonical name is an alias too, unless an alias with the same folded form
            # already says how it may match (case-sensitive, with conditions)
            names = [] if any(fold(a.name) == fold(cname) for a in aliases) else [NameSpec(cname.strip(), eid, "alias")]
            names += aliases
            names += self.name_list(e.get("arabic"), eid, "arabic", ids, e)
            names += self.language_names(e.get("names"), eid, ids, e)
            names += self.name_list(e.get("surnames"), eid, "surname", ids, e)
            names += self.name_list(e.get("acronyms"), eid, "acronym", ids, e)
            if "when" in e:
                ewhen = self.condition(e["when"], ids, e)
                names = [
                    replace(n, when=ewhen if not n.when else {"all": [ewhen, n.when]})
                    if n.kind in ("alias", "arabic", "surname")
                    else n
                    for n in names
                ]
            surfaces = list(dict.fromkeys(n.name for n in names))
            entities.append(Entity(eid, cname.strip(), etype, surfaces, coref, skel, tuple(names), topical))
        calques: list[NameSpec] = []
        for c in data.get("calques") or []:
            self.keys(c, _CALQUE_KEYS, "a calque")
            ent = c.get("entity")
            if ent not in ids:
                raise self.fail(c, f"calque: unknown entity {ent!r}")
            phrases = c.get("phrase")
            phrases = [phrases] if isinstance(phrases, str) else phrases
            when = self.condition(c["when"], ids, c) if "when" in c else None
            for ph in self.strings(phrases, "calque phrase", c):
                calques.append(NameSpec(ph, ent, "calque", False, when))
        blockers = [NameSpec(b, None, "blocker") for b in self.strings(data.get("blockers"), "blockers", data)]
        coref = data.get("coref") or {}
        self.keys(coref, _COREF_KEYS, "coref")
        return Gazetteer(
            version=str(version),
            path=self.name,
            entities=tuple(entities),
            calques=tuple(calques),
            blockers=tuple(blockers),
            titles=frozenset(self.strings(data.get("titles"), "titles", data)),
            name_stopwords=frozenset(self.strings(data.get("name_stopwords"), "name_stopwords", data)),
            topical_words=tuple(self.strings(data.get("topical_words"), "topical_words", data)),
            coref_blocked_if_followed_by=frozenset(
                self.strings(coref.get("blocked_if_followed_by"), "coref.blocked_if_followed_by", coref)
            ),
            coref_blocked_if_preceded_by=frozenset(
                self.strings(coref.get("blocked_if_preceded_by"), "coref.blocked_if_preceded_by", coref)
            ),
            acronym_blocked_if_followed_by=frozenset(
                self.strings(coref.get("acronym_blocked_if_followed_by"), "coref.acronym_blocked_if_followed_by", coref)
            ),
        )
