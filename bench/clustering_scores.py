"""Pairwise precision/recall/F1 of a clustering against gold labels: a measuring tool for the suggest
benches (bench/suggest_ofac.py) and the suggest tests, not part of the pipeline."""

from __future__ import annotations

from collections.abc import Callable


def pairwise_scores(predicted: dict[str, str], gold: dict[str, str],
                    same: Callable[[str, str], bool] | None = None) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of a clustering (item -> cluster) against gold (item -> label).

    Items missing from `gold` count as their own singleton class; pairs for which same(a, b) holds
    (e.g. identical spellings) are left out of both sides.
    """
    def pairs(assign: dict[str, str]) -> set[tuple[str, str]]:
        groups: dict[str, list[str]] = {}
        for item, c in assign.items():
            groups.setdefault(c, []).append(item)
        out = set()
        for items in groups.values():
            items.sort()
            out |= {(a, b) for i, a in enumerate(items) for b in items[i + 1 :]}
        return out

    items = set(predicted)
    pred = pairs(predicted)
    true = pairs({i: gold.get(i, "\x00" + i) for i in items})
    if same is not None:
        pred = {p for p in pred if not same(*p)}
        true = {p for p in true if not same(*p)}
    tp = len(pred & true)
    p = tp / len(pred) if pred else 1.0
    r = tp / len(true) if true else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f
