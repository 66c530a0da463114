"""The one YAML loader for the data files people edit (cleaning rules, gazetteer and its overlays).

Mappings and lists remember the line they start on (`.line`), a key given twice in one mapping is an
error naming file and line (PyYAML keeps the last one silently), and a YAML syntax error becomes the
caller's error type with `file:line` in front. Safe: only plain YAML types are built.
"""

from __future__ import annotations

from typing import Any

import yaml


class LineMap(dict):  # type: ignore[type-arg]
    """A mapping that remembers the line where it started."""

    line = 0


class LineList(list):  # type: ignore[type-arg]
    """A list that remembers the line where it started."""

    line = 0


class _Loader(yaml.SafeLoader):
    source = "?"
    error: type[Exception] = ValueError
    line_key: str | None = None


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> LineMap:
    m = LineMap()
    m.line = node.start_mark.line + 1
    for knode, vnode in node.value:
        key = loader.construct_object(knode, deep=True)
        if key in m:
            raise loader.error(f"{loader.source}:{knode.start_mark.line + 1}: duplicate key {key!r}")
        m[key] = loader.construct_object(vnode, deep=True)
    if loader.line_key is not None:
        m[loader.line_key] = m.line
    return m


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    s = LineList(loader.construct_object(n, deep=True) for n in node.value)
    s.line = node.start_mark.line + 1
    return s


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def load_yaml(text: str, source: str, error: type[Exception], *, syntax: str = "YAML syntax error",
              line_key: str | None = None) -> Any:
    """Parse `text` (read from `source`), raising `error("source:line: <syntax>: problem")` for bad YAML
    and `error("source:line: duplicate key 'k'")` for a repeated key. With `line_key`, every mapping also
    holds its line under that key (the cleaning rules read it so)."""
    loader = _Loader(text)
    loader.source, loader.error, loader.line_key = source, error, line_key
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else "?"
        raise error(f"{source}:{line}: {syntax}: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise error(f"{source}: {syntax}: {exc}") from exc
    finally:
        loader.dispose()
