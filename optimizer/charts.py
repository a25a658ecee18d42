"""Inline SVG charts for the HTML report: stacked bars, capacity columns and the pairing map.

Every label is an SVG ``<text>`` drawn by the browser with the page's CJK font stack, and hover details are
``<title>`` elements, so the charts need no script, no font file and no network.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Series:
    """One coloured series (a tier, kept/changed): its key, legend label and fill colour."""

    key: str
    label: str
    color: str


@dataclass(frozen=True)
class Column:
    """One helper unit in the capacity chart: towns led against capacity."""

    label: str
    used: int
    capacity: int
    color: str


@dataclass(frozen=True)
class MapTown:
    """A key town on the map, coloured by its lead's tier; ``unit`` is the lead's (lon, lat) when known."""

    lon: float
    lat: float
    color: str
    title: str
    unit: tuple[float, float] | None


def _svg(width: float, height: float, label: str, body: Sequence[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
            f'aria-label="{escape(label)}" class="chart">' + "".join(body) + "</svg>")


def text_width(text: str, size: float = 12) -> float:
    """Rough rendered width of ``text``: CJK characters are full-width, the rest about 0.6 em."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.6 for ch in text)


def legend(series: Sequence[Series], x: float = 0, y: float = 0) -> str:
    """A one-line legend of coloured squares and labels starting at (x, y)."""
    parts = []
    for s in series:
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="12" height="12" rx="2" fill="{s.color}"/>'
                     f'<text x="{x + 17:.1f}" y="{y + 10.5:.1f}" class="legend">{escape(s.label)}</text>')
        x += 30 + text_width(s.label)
    return "".join(parts)


def stacked_bars(rows: Sequence[tuple[str, Sequence[int]]], series: Sequence[Series], *, label: str,
                 width: int = 900, label_width: int = 70, bar: int = 18, gap: int = 6) -> str:
    """Horizontal stacked bars, one row per ``(name, values per series)``, counts in wide segments, totals after."""
    top = 26
    longest = max((sum(values) for _, values in rows), default=0) or 1
    scale = (width - label_width - 40) / longest
    parts = [legend(series, label_width, 0)]
    for i, (name, values) in enumerate(rows):
        y = top + i * (bar + gap)
        parts.append(f'<text x="{label_width - 6}" y="{y + bar * 0.72:.1f}" text-anchor="end">{escape(name)}</text>')
        x = float(label_width)
        for s, value in zip(series, values, strict=True):
            if value <= 0:
                continue
            w = value * scale
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" fill="{s.color}">'
                         f'<title>{escape(name)} · {escape(s.label)}: {value}</title></rect>')
            if w >= 8 + 7 * len(str(value)):
                parts.append(f'<text x="{x + w / 2:.1f}" y="{y + bar * 0.72:.1f}" text-anchor="middle" '
                             f'class="inbar">{value}</text>')
            x += w
        parts.append(f'<text x="{x + 5:.1f}" y="{y + bar * 0.72:.1f}" class="total">{sum(values)}</text>')
    return _svg(width, top + len(rows) * (bar + gap), label, parts)


def capacity_columns(groups: Sequence[tuple[str, Sequence[Column]]], *, label: str, width: int = 900,
                     height: int = 170, over: str = "#c0392b") -> str:
    """One thin column per unit, grouped (e.g. by tier): capacity as a pale column, towns led filled over it.

    A unit above its capacity is drawn in ``over``. Hover a column for the unit's name and figures.
    """
    left, top, bottom, gutter = 34, 22, 8, 14
    count = sum(len(columns) for _, columns in groups) or 1
    step = min((width - left - gutter * (len(groups) - 1)) / count, 14.0)
    peak = max((max(c.capacity, c.used) for _, columns in groups for c in columns), default=0) or 1
    unit_h = (height - top - bottom) / peak
    base = height - bottom
    parts = []
    for tick in range(peak + 1) if peak <= 10 else (0, peak // 2, peak):
        y = base - tick * unit_h
        parts.append(f'<line x1="{left - 4}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 7}" y="{y + 4:.1f}" text-anchor="end" class="tick">{tick}</text>')
    x = float(left)
    for name, columns in groups:
        start = x
        parts.append(f'<text x="{x:.1f}" y="13" class="group">{escape(name)}</text>')
        for c in columns:
            w = max(step - (0.6 if step > 2 else 0), 0.8)
            tip = f"<title>{escape(c.label)}: {c.used} / {c.capacity}</title>"
            parts.append(f'<g><rect x="{x:.2f}" y="{base - c.capacity * unit_h:.1f}" width="{w:.2f}" '
                         f'height="{c.capacity * unit_h:.1f}" fill="{c.color}" opacity="0.22"/>'
                         f'<rect x="{x:.2f}" y="{base - c.used * unit_h:.1f}" width="{w:.2f}" '
                         f'height="{c.used * unit_h:.1f}" fill="{over if c.used > c.capacity else c.color}"/>'
                         f"{tip}</g>")
            x += step
        x = max(x, start + text_width(name) + 8) + gutter
    return _svg(width, height, label, parts)


Place = tuple[str, float, float]


def pairing_map(towns: Sequence[MapTown], *, background: Sequence[tuple[float, float]], labels: Sequence[Place],
                hub_labels: Sequence[Place], series: Sequence[Series], label: str, width: int = 900) -> str:
    """Key towns by lon/lat (equirectangular, x scaled by cos of the mid latitude), lines to their lead units.

    ``background`` points (other towns) give the province its shape; ``labels`` name the towns' cities and
    ``hub_labels`` the helper units' cities, each as ``(text, lon, lat)``.
    """
    points = [(t.lon, t.lat) for t in towns] + [t.unit for t in towns if t.unit] + list(background)
    if not points:
        return _svg(width, 40, label, ['<text x="0" y="24">No coordinates to draw.</text>'])
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    pad, top = 0.15, 30
    west, east, south, north = min(lons) - pad, max(lons) + pad, min(lats) - pad, max(lats) + pad
    kx = math.cos(math.radians((south + north) / 2))
    scale = width / max((east - west) * kx, 1e-9)
    height = top + (north - south) * scale

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (lon - west) * kx * scale, top + (north - lat) * scale

    parts = [legend(series, 0, 0)]
    for lon, lat in background:
        x, y = xy(lon, lat)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.4" class="other"/>')
    for t in towns:
        if t.unit:
            (x1, y1), (x2, y2) = xy(t.lon, t.lat), xy(*t.unit)
            parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{t.color}" '
                         'class="link"/>')
    for hub in sorted({t.unit for t in towns if t.unit}):
        x, y = xy(*hub)
        parts.append(f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" class="hub"/>')
    for t in towns:
        x, y = xy(t.lon, t.lat)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.4" fill="{t.color}" class="town">'
                     f"<title>{escape(t.title)}</title></circle>")
    for css, places, lift in (("place", labels, 0), ("place hubplace", hub_labels, 8)):
        for text, lon, lat in places:
            x, y = xy(lon, lat)
            parts.append(f'<text x="{x:.1f}" y="{y - lift:.1f}" text-anchor="middle" class="{css}">'
                         f"{escape(text)}</text>")
    return _svg(width, height, label, parts)
