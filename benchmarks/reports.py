"""Benchmark: how long a household's report takes to build, per format.

Run: ``.venv/bin/python benchmarks/reports.py [--repeats 5]``.

Over the demo portfolio (24 households, one year at 15 minutes, a temp SQLite file), for one
household and one month (May 2026), the time of :func:`services.reports.build_report_file`:

- ``pdf_cold_s``: the first PDF in a fresh process (the chart browser starts inside it);
- ``pdf_warm_s``: the median of the next PDFs (other households), as a user gets them after
  opening the Reports page (which starts the browser) — the issue's target is 5 s;
- Excel, CSV (ZIP) and the interactive HTML, median;
- the reference, measured in the same run: the same report's charts drawn the default plotly
  way, ``fig.to_image(format="svg")`` per chart (kaleido starts a browser per call).

Last line: ``reports pdf_cold_s=.. pdf_warm_s=.. xlsx_s=.. csv_s=.. html_s=.. naive_charts_s=.. pages=..``
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

END = date(2026, 6, 30)  # fixed, so that runs are comparable
MONTH = "2026-05"


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="warm PDFs and files of each format to time")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="bench-reports-")
    url = f"sqlite:///{folder}/energy.db"
    os.environ["DATABASE_URL"] = url
    from services.access import visible_household_ids
    from services.demo import load_demo_portfolio
    from services.reports import build_report_file, gather_report_data, parse_period
    from services.reports.charts import report_figures
    from services.store.db import migrate

    migrate(url)
    loaded = load_demo_portfolio(n_households=24, seed=42, end=END, days=365, url=url)
    print(f"demo portfolio: {loaded.readings:,} readings in {loaded.seconds['total']:.1f} s ({url})")
    households = list(visible_household_ids())
    period = parse_period("month", month=MONTH)

    pdf_cold = _seconds(lambda: build_report_file("pdf", [households[0]], period))
    warm, pages = [], 0
    for household_id in households[1:1 + args.repeats]:
        start = time.perf_counter()
        file = build_report_file("pdf", [household_id], period)
        warm.append(time.perf_counter() - start)
        from pypdf import PdfReader
        pages = max(pages, len(PdfReader(io.BytesIO(file.content)).pages))
    others = {fmt: statistics.median(_seconds(lambda h=h, f=fmt: build_report_file(f, [h], period))
                                     for h in households[:args.repeats])
              for fmt in ("xlsx", "csv", "html")}

    figures = report_figures(gather_report_data(households[0], period))
    os.environ.setdefault("BROWSER_PATH", "/usr/bin/chromium")  # kaleido's own search, offline
    import plotly.io as pio
    pio.defaults.mathjax = None  # nothing fetched
    naive = _seconds(lambda: [fig.to_image(format="svg") for fig in figures.values()])

    print(f"\none household, {MONTH}:")
    print(f"  PDF, first in the process (browser starts)   {pdf_cold:6.2f} s")
    print(f"  PDF, warm: median of {len(warm)}                     {statistics.median(warm):6.2f} s"
          f"   (max {max(warm):.2f} s, up to {pages} pages)")
    for fmt, seconds in others.items():
        print(f"  {fmt:<5} median                                {seconds:6.2f} s")
    print(f"  reference: its {len(figures)} charts by fig.to_image   {naive:6.2f} s")
    print(f"reports pdf_cold_s={pdf_cold:.2f} pdf_warm_s={statistics.median(warm):.2f} xlsx_s={others['xlsx']:.2f} "
          f"csv_s={others['csv']:.2f} html_s={others['html']:.2f} naive_charts_s={naive:.2f} pages={pages}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
