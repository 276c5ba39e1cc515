"""The sandboxed DuckDB session that computes KPIs, and what it gives back.

- :mod:`~kpi_model.engine.settings`: :func:`lock`, the limits and settings that lock a connection down.
- :mod:`~kpi_model.engine.session`: :class:`Engine`, a locked session that computes KPIs and caches them.
- :mod:`~kpi_model.engine.series`: :class:`Series` and :class:`Point`, a KPI per period.
- :mod:`~kpi_model.engine.shared_scan`: one query for KPIs that read the same rows.
- :mod:`~kpi_model.engine.coverage`: the days a source's data covers.
- :mod:`~kpi_model.engine.bitmaps`: when distinct counts pay off as bitmaps, and their ranges.
- :mod:`~kpi_model.engine.pool`: :class:`EnginePool`, one engine per database file for the app's sessions.
"""

from kpi_model.engine.bitmaps import bitmap_fits, estimated_periods
from kpi_model.engine.pool import EnginePool
from kpi_model.engine.series import Point, Series
from kpi_model.engine.session import Engine, QueryTimeout
from kpi_model.engine.settings import DEFAULT_THREADS, DEFAULT_TIMEOUT_S, lock

__all__ = [
    "DEFAULT_THREADS",
    "DEFAULT_TIMEOUT_S",
    "Engine",
    "EnginePool",
    "Point",
    "QueryTimeout",
    "Series",
    "bitmap_fits",
    "estimated_periods",
    "lock",
]
