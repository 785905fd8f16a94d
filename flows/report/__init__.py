"""The daily report: day D on one HTML page that works offline.

plotly.js is not inlined (4.97 MB a day): every report beside it references one shared
copy, ``assets/plotly-<version>.min.js``, written once next to the reports.

Sections: the recommendation card, the VX term structure against a week and a month ago,
VIX with regime bands and lit ladder layers, VVIX with its MACD, SPX with RSI, the A/D line
against SPX with divergences, the Second Engine components and data freshness per table.

What the page shows is read from the lake in ``queries``, drawn in ``charts`` and put
together in ``page``; ``daily`` assembles day D's report and writes it.
"""

from flows.report.daily import report_path, report_sections, write_report
from flows.report.page import PLOTLY_BUNDLE

__all__ = ["PLOTLY_BUNDLE", "report_path", "report_sections", "write_report"]
