"""The Pareto front of a sweep (fewer changed previous leads against more plan value) and its SVG chart.

The chart is a standalone SVG file, like the report's charts (:mod:`optimizer.charts`): it opens in any browser,
needs no plotting library at run time, and each point's tooltip names its variant and settings.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from html import escape

import numpy as np
import pandas as pd

FRONT, OTHER = "#c0392b", "#8a9bb0"
FONTS = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif'


def pareto_front(changes: np.ndarray, value: np.ndarray) -> np.ndarray:
    """A mask of the points no other point dominates (at most the changes and at least the value, one of them
    strictly better). Equal points are all on the front. O(n log n): by changes, then by value, descending."""
    front = np.zeros(len(changes), dtype=bool)
    order = np.lexsort((-value, changes))
    best = -math.inf
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and changes[order[j]] == changes[order[i]]:
            j += 1
        top = value[order[i]]  # the group's best value: only its points can be on the front
        if top > best:
            front[[k for k in order[i:j] if value[k] == top]] = True
            best = top
        i = j
    return front


def _shown(value: object) -> str:
    return "—" if value is None else json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) \
        else str(value)


def ticks(low: float, high: float, count: int = 6, *, integer: bool = False) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten, whole numbers if ``integer``) covering [low, high]."""
    if high <= low:
        high = low + 1
    raw = max((high - low) / count, 1.0 if integer else 0.0)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    return [first + i * step for i in range(math.ceil((high - first) / step) + 1)]


def pareto_svg(table: pd.DataFrame, keys: Sequence[str], *, title: str, width: int = 900,
               height: int = 520) -> str:
    """A scatter chart of a sweep table's variants with a plan: changed previous leads (x) against plan value
    (y), the Pareto front in red and joined; tooltips with the variant id, figures and ``keys``' values."""
    plotted = table[table["changes"].notna() & table["value"].notna()]
    left, right, top, bottom = 78, 24, 58, 52
    parts: list[str] = []
    if plotted.empty:
        parts.append(f'<text x="{left}" y="{top + 20}">No variant has a plan to draw.</text>')
    else:
        xs, ys = ticks(0, float(plotted["changes"].max()), integer=True), ticks(float(plotted["value"].min()),
                                                                   float(plotted["value"].max()))
        x0, x1, y0, y1 = xs[0], xs[-1], ys[0], ys[-1]

        def sx(v: float) -> float:
            return left + (v - x0) / ((x1 - x0) or 1) * (width - left - right)

        def sy(v: float) -> float:
            return height - bottom - (v - y0) / ((y1 - y0) or 1) * (height - top - bottom)

        for x in xs:
            parts.append(f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{top}" y2="{height - bottom}" class="grid"/>'
                         f'<text x="{sx(x):.1f}" y="{height - bottom + 16}" text-anchor="middle">{x:g}</text>')
        for y in ys:
            parts.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" class="grid"/>'
                         f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:,.0f}</text>')
        front = plotted[plotted["pareto"]].sort_values(["changes", "value"])
        line = " ".join(f"{sx(r.changes):.1f},{sy(r.value):.1f}" for r in front.itertuples())
        parts.append(f'<polyline points="{line}" fill="none" stroke="{FRONT}" stroke-width="1.5"/>')
        for row in sorted(plotted.to_dict("records"), key=lambda r: bool(r["pareto"])):  # the front drawn on top
            settings = "; ".join(f"{k} = {_shown(row[k])}" for k in keys)
            tip = (f"{row['variant']}: {row['changes']} changes, value {row['value']:,}, "
                   f"objective {row['objective']:,} ({row['status']}) — {settings}")
            parts.append(f'<circle cx="{sx(row["changes"]):.1f}" cy="{sy(row["value"]):.1f}" '
                         f'r="{5 if row["pareto"] else 3.5}" fill="{FRONT if row["pareto"] else OTHER}">'
                         f"<title>{escape(tip)}</title></circle>")
    missing = len(table) - len(plotted)
    subtitle = (f"{len(table)} variants, {int(plotted['pareto'].sum())} on the Pareto front (red)"
                + (f", {missing} without a plan" if missing else ""))
    parts += [f'<text x="{left}" y="22" class="title">{escape(title)}</text>',
              f'<text x="{left}" y="40">{escape(subtitle)}</text>',
              (f'<text x="{(left + width - right) / 2:.0f}" y="{height - 12}" text-anchor="middle">'
               "previous leads changed</text>"),
              (f'<text transform="translate(18 {(top + height - bottom) / 2:.0f}) rotate(-90)" text-anchor="middle">'
               "plan value (objective without the continuity and baseline rewards)</text>")]
    style = (f"text{{font:12px {FONTS};fill:#222}} .title{{font-size:15px;font-weight:bold}} "
             ".grid{stroke:#e3e3e3}")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="{escape(title)}"><style>{style}</style>'
            f'<rect width="100%" height="100%" fill="white"/>' + "".join(parts) + "</svg>\n")
