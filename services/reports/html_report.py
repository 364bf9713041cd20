"""The reports as one self-contained, interactive HTML file: plotly.js inlined, nothing from a CDN.

The file opens offline in any browser: the charts zoom and show values on hover. With several
households it starts with a table of their KPIs, then a section per household. All text is
HTML-escaped by the template (household names and notes come from users).
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from services.formatting import format_energy, format_money, format_ratio
from services.reports.charts import report_figures
from services.reports.data import ReportData
from services.reports.summary import jinja, report_context

#: Chart height in the HTML report [px]; the width follows the window.
HTML_HEIGHT = 360


def build_html(reports: Sequence[ReportData]) -> bytes:
    """The HTML report on ``reports`` (one period, one or more households) as UTF-8 bytes."""
    sections = [{"r": report_context(r), "charts": _chart_divs(r, i)} for i, r in enumerate(reports)]
    first = reports[0]
    html = jinja().get_template("interactive.html.j2").render(
        title=_title(reports), period=first.period.label, first_day=first.period.start.isoformat(),
        last_day=first.period.end.isoformat(), generated=first.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        sections=sections, portfolio=_portfolio_rows(reports) if len(reports) > 1 else [],
        currency=first.currency, plotly_js=get_plotlyjs(),
    )
    return html.encode("utf-8")


def _title(reports: Sequence[ReportData]) -> str:
    if len(reports) == 1:
        return f"Energy report · {reports[0].household.name} · {reports[0].period.label}"
    return f"Energy report · {len(reports)} households · {reports[0].period.label}"


def _chart_divs(report: ReportData, index: int) -> dict[str, str]:
    divs = {}
    for name, fig in report_figures(report).items():
        divs[name] = _div(fig, f"report-{index}-{name}")
    return divs


def _div(fig: go.Figure, div_id: str) -> str:
    fig = go.Figure(fig)  # a copy: the PDF's fixed size gives way to the window's width
    fig.update_layout(width=None, height=HTML_HEIGHT, autosize=True)
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def _portfolio_rows(reports: Sequence[ReportData]) -> list[dict]:
    rows = []
    for i, r in enumerate(reports):
        t = r.totals
        rows.append({"anchor": f"household-{i}", "name": r.household.name, "load": format_energy(t.load_kwh),
                     "pv": format_energy(t.pv_kwh), "import": format_energy(t.import_kwh),
                     "export": format_energy(t.export_kwh), "sc": format_ratio(t.self_consumption),
                     "ss": format_ratio(t.self_sufficiency), "cost": format_money(t.energy_cost, r.currency),
                     "savings": format_money(r.savings.savings, r.currency) if r.savings else "—"})
    return rows
