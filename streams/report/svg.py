"""Small SVG charts for the HTML report: drawn here, inline, no script or web font needed, so the
report opens offline. Each chart is an ``<svg class="chart">`` with a title for screen readers."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#0ea5e9", "#84cc16", "#f43f5e")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _svg(title: str, width: int, height: int, body: list[str]) -> str:
    return (f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{"".join(body)}</svg>')


def _text(x: float, y: float, text: str, size: int = 11, anchor: str = "start", fill: str = "#334155") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}">'
            f"{escape(text)}</text>")


def heatmap(title: str, cells: dict[tuple[int, int], float]) -> str:
    """weekday (1 = Monday) x hour (0-23) -> value; darker is more."""
    top = max(cells.values(), default=0) or 1
    w, h, left, head = 26, 20, 40, 22
    body = [_text(left + hour * w + w / 2, 14, str(hour), 9, "middle") for hour in range(0, 24, 2)]
    for day in range(1, 8):
        y = head + (day - 1) * h
        body.append(_text(4, y + 14, WEEKDAYS[day - 1]))
        for hour in range(24):
            value = cells.get((day, hour), 0)
            shade = int(245 - 200 * (value / top))
            body.append(f'<rect x="{left + hour * w}" y="{y}" width="{w - 2}" height="{h - 2}" rx="2" '
                        f'fill="rgb({shade},{shade + 5 if shade < 250 else 250},255)">'
                        f"<title>{WEEKDAYS[day - 1]} {hour:02d}:00 — {value:,.0f}</title></rect>")
    return _svg(title, left + 24 * w + 10, head + 7 * h + 8, body)


def hbars(title: str, items: Sequence[tuple[str, float]], fmt: str = "{:,.0f}", width: int = 640) -> str:
    """Horizontal bars, one per (label, value)."""
    top = max((v for _, v in items), default=0) or 1
    label_w, bar_h = 200, 22
    body = []
    for i, (label, value) in enumerate(items):
        y = 6 + i * (bar_h + 6)
        length = max(2.0, (width - label_w - 90) * value / top)
        body.append(_text(label_w - 8, y + 15, label[:32], anchor="end"))
        body.append(f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar_h}" rx="3" '
                    f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(label)}: {fmt.format(value)}</title></rect>')
        body.append(_text(label_w + length + 6, y + 15, fmt.format(value)))
    return _svg(title, width, 12 + len(items) * (bar_h + 6), body)


def lines(title: str, x_labels: Sequence[str], series: dict[str, Sequence[float | None]], unit: str = "",
          width: int = 640, height: int = 220) -> str:
    """Line chart: one polyline per series over the same x labels (None leaves a gap)."""
    values = [v for s in series.values() for v in s if v is not None]
    top = max(values, default=0) or 1
    left, bottom, right, top_pad = 48, 28, 12, 12
    plot_w, plot_h = width - left - right, height - bottom - top_pad
    n = max(len(x_labels) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + plot_w * i / n, top_pad + plot_h * (1 - v / top)

    body = [f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - right}" y2="{top_pad + plot_h}" '
            'stroke="#94a3b8"/>']
    for frac in (0.5, 1.0):
        y = top_pad + plot_h * (1 - frac)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e2e8f0"/>')
        body.append(_text(left - 4, y + 4, f"{top * frac:,.0f}{unit}", 9, "end"))
    step = max(1, len(x_labels) // 6)
    for i in range(0, len(x_labels), step):
        body.append(_text(xy(i, 0)[0], height - 8, x_labels[i], 9, "middle"))
    for k, (name, points) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        coords = [xy(i, v) for i, v in enumerate(points) if v is not None]
        if coords:
            body.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                        f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in coords)}"><title>{escape(name)}</title>'
                        "</polyline>")
        body.append(f'<rect x="{left + 10 + k * 150}" y="2" width="10" height="10" fill="{color}"/>')
        body.append(_text(left + 24 + k * 150, 11, name, 10))
    return _svg(title, width, height, body)


def funnel(title: str, steps: Sequence[tuple[str, float]], width: int = 640) -> str:
    """Centered bars narrowing step by step, with the share of the first step."""
    first = steps[0][1] if steps and steps[0][1] else 1
    bar_h, body = 34, []
    for i, (label, value) in enumerate(steps):
        w = max(4.0, (width - 40) * value / first)
        y = 4 + i * (bar_h + 8)
        body.append(f'<rect x="{(width - w) / 2:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="4" '
                    f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(label)}: {value:,.0f}</title></rect>')
        body.append(_text(width / 2, y + 22, f"{label}: {value:,.0f} ({value / first:.0%})", 12, "middle", "#0f172a"))
    return _svg(title, width, 8 + len(steps) * (bar_h + 8), body)
