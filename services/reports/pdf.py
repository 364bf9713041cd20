"""A household's report as a PDF: the HTML template (Jinja2) with SVG charts (kaleido), printed by WeasyPrint.

Several households give one PDF each (collected in a ZIP by :mod:`services.reports.files`):
reports are handed to the households, and each must see its own data only.
"""

from __future__ import annotations

import base64
import threading

from services.reports.charts import render_svgs, report_figures
from services.reports.data import ReportData
from services.reports.renderer import RendererUnavailable, renderer
from services.reports.summary import TEMPLATES, jinja, report_context


def build_pdf(report: ReportData) -> bytes:
    """The report on ``report``'s household as PDF bytes (A4, two to three pages)."""
    try:
        from weasyprint import CSS, HTML  # imported here: it loads pango and fonts, needed only for PDFs
    except (ImportError, OSError) as exc:
        raise RendererUnavailable(
            "PDF reports are printed by WeasyPrint, which needs pango: install the Debian packages "
            f"libpango-1.0-0 and libpangoft2-1.0-0 ({exc})."
        ) from exc

    svgs = render_svgs(report_figures(report))
    charts = {name: "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
              for name, svg in svgs.items()}
    html = jinja().get_template("report.html.j2").render(r=report_context(report), charts=charts,
                                                         currency=report.currency)
    stylesheet = CSS(filename=str(TEMPLATES / "report.css"))
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(stylesheets=[stylesheet])


def prepare_pdf() -> None:
    """Get the first PDF going faster: start the chart browser and load WeasyPrint in the background.

    Never blocks and never raises; a page calls it when it opens.
    """
    renderer.warm_up()

    def load_weasyprint() -> None:
        try:
            import weasyprint  # noqa: F401 - loading pango and the fonts once is what takes the time
        except Exception:  # noqa: BLE001 - the PDF build reports a missing library with its own message
            pass

    threading.Thread(target=load_weasyprint, name="weasyprint-import", daemon=True).start()
