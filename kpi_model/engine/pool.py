"""Engines shared by the sessions of a server: one per workspace database file, reopened when the file changes."""

from __future__ import annotations

import threading
from pathlib import Path

from kpi_model.engine.session import Engine
from kpi_model.engine.settings import DEFAULT_TIMEOUT_S
from kpi_model.sources.profile_cache import database_version


class EnginePool:
    """One locked, read-only engine per workspace database file, shared by the sessions of a server.

    Queries take their own cursor, so sessions do not share a connection. Before a file is
    written (an upload), :meth:`release` closes its engine; the next :meth:`get` opens a new one
    on the new data, so cached results never outlive the data they came from.
    """

    def __init__(self, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def get(self, path: str | Path) -> Engine:
        """The engine for a database file, opened (or reopened after a change) as needed.

        Opening takes the file's :func:`~kpi_model.isolation.database_lock`, so it waits for a write
        in progress (in this process or another) instead of opening the file halfway through it.
        """
        from kpi_model.isolation import database_lock  # multiprocessing: not for the CLI's start-up

        file = Path(path).resolve()
        with self._lock:
            engine = self._engines.get(str(file))
            if engine is not None and engine.data_version == database_version(file):
                return engine
        with database_lock(file), self._lock:  # always the file's lock first, then the pool's
            version = database_version(file)
            engine = self._engines.get(str(file))
            if engine is not None and engine.data_version == version:
                return engine
            if engine is not None:
                engine.close()
            engine = Engine.open_database(file, timeout_s=self.timeout_s)
            self._engines[str(file)] = engine
            return engine

    def release(self, path: str | Path) -> None:
        """Close the engine of a database file so that the file can be written."""
        with self._lock:
            engine = self._engines.pop(str(Path(path).resolve()), None)
        if engine is not None:
            engine.close()
