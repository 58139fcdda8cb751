"""Measurement: third-party measurement pixels called from the platform's server (an outbox), conversion
attribution to Promoted Pins, and advertiser reports that never describe a handful of people.
(Other packages use these modules; the tables are private.)"""

from tastegraph.measure import attribution as attribution
from tastegraph.measure import attribution_tables as _attribution_tables  # noqa: F401  (registers)
from tastegraph.measure import pixel_tables as _pixel_tables  # noqa: F401  (registers)
from tastegraph.measure import pixels as pixels
from tastegraph.measure import report_build as report_build
from tastegraph.measure import report_dp as report_dp
from tastegraph.measure import report_rows as report_rows
from tastegraph.measure import report_tables as _report_tables  # noqa: F401  (registers)
from tastegraph.measure import reports as reports
from tastegraph.measure import settings as settings
from tastegraph.measure import tables as _tables  # noqa: F401  (registers the tables)
from tastegraph.measure.settings import MeasurementSettings, Windows

__all__ = [
    "MeasurementSettings",
    "Windows",
    "attribution",
    "pixels",
    "report_build",
    "report_dp",
    "report_rows",
    "reports",
    "settings",
]
