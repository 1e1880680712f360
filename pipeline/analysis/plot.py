"""Equity curves as one hand-written SVG: a panel per session, cumulative settled profit after
each settlement (x: settlement time), a zero line, the peak-to-trough of the max drawdown shaded.
No plotting library: the file is small, text, and opens in any browser.
"""
from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Mapping, Sequence

from pipeline.core.timefmt import parse_iso

WIDTH, PANEL_H, PAD_L, PAD_R, PAD_T, PAD_B = 900, 220, 70, 20, 30, 30
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")


def _fmt(x: float) -> str:
    return f"{x:,.2f}"


def _drawdown_span(values: Sequence[float]) -> tuple[int, int] | None:
    """Indexes (peak, trough) of the largest fall from a running peak; values[0] is the start."""
    peak_i, worst, span = 0, 0.0, None
    for i, v in enumerate(values):
        if v > values[peak_i]:
            peak_i = i
        if values[peak_i] - v > worst:
            worst, span = values[peak_i] - v, (peak_i, i)
    return span


def panel(sid: str, equity: Sequence[tuple[str, float]], top: float, colour: str,
          fig: Mapping[str, float] | None = None) -> list[str]:
    """SVG elements of one session's panel whose top edge is at y = `top`."""
    out = [f'<text x="{PAD_L}" y="{top + 18:.1f}" class="t">{escape(sid)}'
           + (f' — profit {_fmt(fig["profit"])}, max drawdown {_fmt(fig["max_drawdown"])}, '
              f'{fig["bets"]} bets' if fig else "") + "</text>"]
    y0, y1 = top + PAD_T, top + PANEL_H - PAD_B
    x0, x1 = PAD_L, WIDTH - PAD_R
    out.append(f'<rect x="{x0}" y="{y0:.1f}" width="{x1 - x0}" height="{y1 - y0:.1f}" class="f"/>')
    if not equity:
        out.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{(y0 + y1) / 2:.1f}" class="n">no bets'
                   f'</text>')
        return out
    times = [parse_iso(t).timestamp() for t, _ in equity]
    values = [0.0] + [float(v) for _, v in equity]
    times = [times[0]] + times
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    t_lo, t_hi = times[0], max(times[-1], times[0] + 1)

    def px(t: float) -> float:
        return x0 + (t - t_lo) / (t_hi - t_lo) * (x1 - x0)

    def py(v: float) -> float:
        return y1 - (v - lo) / (hi - lo) * (y1 - y0)

    span = _drawdown_span(values)
    if span is not None:
        xa, xb = px(times[span[0]]), px(times[span[1]])
        out.append(f'<rect x="{xa:.1f}" y="{y0:.1f}" width="{max(xb - xa, 1):.1f}" '
                   f'height="{y1 - y0:.1f}" class="dd"/>')
    out.append(f'<line x1="{x0}" x2="{x1}" y1="{py(0):.1f}" y2="{py(0):.1f}" class="z"/>')
    points = " ".join(f"{px(t):.1f},{py(v):.1f}" for t, v in zip(times, values))
    out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
    for v, y in ((hi, y0), (lo, y1)):
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" class="a" text-anchor="end">'
                   f'{_fmt(v)}</text>')
    for t, anchor, x in ((t_lo, "start", x0), (t_hi, "end", x1)):
        day = datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d")
        out.append(f'<text x="{x}" y="{y1 + 16:.1f}" class="a" text-anchor="{anchor}">{day}</text>')
    return out


def equity_svg(curves: Mapping[str, Sequence[tuple[str, float]]],
               figures: Mapping[str, Mapping[str, float]] | None = None) -> str:
    """One SVG document: a panel per session (`curves`: session id -> [(settled_at, cum)])."""
    body: list[str] = []
    for i, (sid, equity) in enumerate(curves.items()):
        body += panel(sid, equity, i * PANEL_H, COLOURS[i % len(COLOURS)],
                      (figures or {}).get(sid))
    height = max(1, len(curves)) * PANEL_H
    style = ("<style>.t{font:bold 13px sans-serif}.a,.n{font:11px sans-serif;fill:#555}"
             ".f{fill:#fafafa;stroke:#ccc}.z{stroke:#999;stroke-dasharray:4 3}"
             ".dd{fill:#d62728;opacity:.08}</style>")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}">{style}\n' + "\n".join(body) + "\n</svg>\n")


def check_path(path: str | Path) -> Path:
    """The plot's file name, which must end in .svg (checked before a long run)."""
    path = Path(path)
    if path.suffix.lower() != ".svg":
        raise ValueError(f"--plot {path}: write an .svg file (PNG would need a plotting "
                         f"library; any browser opens SVG)")
    return path


def write_plot(path: str | Path, curves: Mapping[str, Sequence[tuple[str, float]]],
               figures: Mapping[str, Mapping[str, float]] | None = None) -> Path:
    """Write the equity curves to `path` (.svg)."""
    path = check_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(equity_svg(curves, figures), encoding="utf-8")
    return path
