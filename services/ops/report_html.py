"""A round's report as one self-contained HTML page: inline CSS, inline SVG bar charts, no scripts.

Renders a services.ops.report.RoundReport; never reads a database, a broker or the network.
"""

from collections import Counter
from html import escape

from services.ops.funnel import Funnel
from services.ops.report import ROUND_FIGURES, SOLVER_FIGURES, RoundReport, format_figure

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1d2733;
padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;
border-bottom:1px solid #d5dbe3;padding-bottom:.2rem}
.sub{color:#5b6776;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:.6rem}
.card{border:1px solid #d5dbe3;border-radius:6px;padding:.5rem .8rem;min-width:8rem}
.card b{display:block;font-size:1.2rem}.card span{color:#5b6776;font-size:.85rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e4e8ee;
padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f3f5f8}
svg text{font:12px system-ui,sans-serif;fill:#1d2733}
.bar{fill:#3b7dd8}.bar.warn{fill:#d8833b}.track{fill:#edf1f6}
.empty{color:#5b6776;font-style:italic}
td.n{text-align:right}
"""
_ROW, _LABEL, _WIDTH = 24, 190, 640
_TOP = 15  # categories shown per chart; the rest are summed as "other"


def render_html(report: RoundReport) -> str:
    """The whole page as text."""
    title = f"Round {report.round_id}"
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">program year {report.program_year} · {escape(report.period)} · '
        f"mode {escape(report.mode)} · status {escape(report.status)}</p>",
        "<h2>Solver</h2>", _cards(report, (*SOLVER_FIGURES, "reason")),
        "<h2>Round figures</h2>", _cards(report, ROUND_FIGURES),
        "<h2>Fill rate per course and period</h2>", _fill_chart(report),
        "<h2>Placements by nationality</h2>", _chart(_top(report.by_nationality)),
        "<h2>Placements by prefecture</h2>", _chart(_top(report.by_prefecture)),
        "<h2>Placements by industry</h2>", _chart(_top(report.by_industry)),
        "<h2>Unplaced applicants by reason</h2>",
        _chart(report.unplaced_by_reason.most_common(), warn=True),
        "<h2>Preference rank applicants got</h2>", _chart(report.ranks()),
        f"<h2>Ineligible vacancies ({len(report.ineligible)})</h2>", _ineligible(report),
    ]  # fmt: skip
    if report.funnel is not None:
        body[6:6] = ["<h2>Offers</h2>", _funnel_chart(report.funnel)]
    return _page(title, body)


def render_year_html(program_year: int, funnels: list[Funnel]) -> str:
    """A program year's rounds side by side: each round's funnel, one column per round."""
    title = f"Program year {program_year}"
    if not funnels:
        return _page(title, [f"<h1>{escape(title)}</h1>", _none()])
    labels = list(dict.fromkeys(label for f in funnels for label, _ in f.rows()))
    head = "".join(f"<th>{escape(f.round_id)}</th>" for f in funnels)
    rows = "".join(
        f"<tr><td>{escape(label)}</td>"
        + "".join(f'<td class="n">{dict(f.rows()).get(label, 0):,}</td>' for f in funnels)
        + "</tr>"
        for label in labels
    )
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">{len(funnels)} rounds · offers as they stand</p>',
        f"<h2>Offers per round</h2><table><tr><th>figure</th>{head}</tr>{rows}</table>",
    ]
    for f in funnels:
        body += [f"<h2>Round {escape(f.round_id)} ({escape(f.period)})</h2>", _funnel_chart(f)]
    return _page(title, body)


def _page(title: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} — intern-match</title><style>{_CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def _funnel_chart(funnel: Funnel) -> str:
    """The funnel's figures as bars against the offers made."""
    return _chart(funnel.rows()) if funnel.offers else _none()


def _cards(report: RoundReport, keys: tuple[str, ...]) -> str:
    cards = []
    for key in keys:
        if key in report.answer:
            value = report.answer[key]
            text = format_figure(key, value)
            cards.append(f'<div class="card"><span>{escape(key)}</span><b>{escape(text)}</b></div>')
    return f'<div class="cards">{"".join(cards)}</div>' if cards else _none()


def _top(counts: Counter[str]) -> list[tuple[str, int]]:
    ranked = counts.most_common()
    if len(ranked) <= _TOP:
        return ranked
    return [*ranked[: _TOP - 1], ("other", sum(n for _, n in ranked[_TOP - 1 :]))]


def _chart(rows: list[tuple[str, int]], warn: bool = False) -> str:
    """Horizontal bars, one per (label, count), scaled to the largest count."""
    if not rows:
        return _none()
    peak = max(n for _, n in rows) or 1
    return _svg([(label, n / peak, f"{n:,}") for label, n in rows], warn)


def _fill_chart(report: RoundReport) -> str:
    rows = [
        (label, min(placed / slots, 1.0) if slots else 0.0,
         f"{placed:,}/{slots:,} ({placed / slots:.0%})" if slots else f"{placed:,}/0")
        for label, placed, slots in report.fill_rates()
    ]  # fmt: skip
    return _svg(rows, False) if rows else _none()


def _svg(rows: list[tuple[str, float, str]], warn: bool) -> str:
    span = _WIDTH - _LABEL - 130
    height = _ROW * len(rows) + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{_WIDTH}" '
             f'height="{height}" viewBox="0 0 {_WIDTH} {height}">']  # fmt: skip
    for i, (label, share, text) in enumerate(rows):
        y = i * _ROW + 2
        bar = max(share * span, 1.0)
        parts.append(
            f'<text x="{_LABEL - 8}" y="{y + 16}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="track" x="{_LABEL}" y="{y + 3}" width="{span}" height="{_ROW - 6}"/>'
            f'<rect class="bar{" warn" if warn else ""}" x="{_LABEL}" y="{y + 3}" '
            f'width="{bar:.1f}" height="{_ROW - 6}"><title>{escape(label)}: {escape(text)}'
            f'</title></rect><text x="{_LABEL + span + 8}" y="{y + 16}">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _ineligible(report: RoundReport) -> str:
    if not report.ineligible:
        return _none()
    rows = "".join(
        f"<tr><td>{escape(v.vacancy_id)}</td><td>{escape(v.company_id)}</td>"
        f"<td>{escape(v.rule)}</td><td>{escape(v.detail)}</td></tr>"
        for v in report.ineligible
    )
    head = "<tr><th>vacancy</th><th>company</th><th>failing rule</th><th>detail</th></tr>"
    return f"<table>{head}{rows}</table>"


def _none() -> str:
    return '<p class="empty">none</p>'
