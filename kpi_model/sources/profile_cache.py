"""The profiles of a workspace's tables, kept beside its database for one version of it.

Profiling is the costly part of showing a table (a query over every column); the job that changes
the data writes the profiles here, and every page run after it reads them while the database file
is unchanged (same modification time and size).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path

from kpi_model.sources.catalog import TableProfile

DATA_FILE = "data.duckdb"
PROFILES_FILE = "data.profiles.json"
Catalog = dict[str, str]  # table or view name -> 'TABLE' | 'VIEW'


def database_version(path: Path) -> str:
    """Which version of a database file this is: its modification time and size."""
    stat = path.stat()
    return f"{stat.st_mtime_ns}-{stat.st_size}"


def read_profiles(db_path: Path, version: str) -> tuple[Catalog, dict[str, TableProfile]] | None:
    """The catalog and profiles kept beside ``db_path`` for ``version`` of it (None when there are none)."""
    try:
        data = json.loads((db_path.parent / PROFILES_FILE).read_text(encoding="utf-8"))
        if data.get("version") != version:
            return None
        catalog = {str(name): str(kind) for name, kind in data["relations"].items()}
        profiles = {
            str(name): TableProfile.from_dict(p, view=catalog.get(str(name)) == "VIEW")
            for name, p in data["profiles"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return catalog, {name: profile for name, profile in profiles.items() if name in catalog}


def cached_profiles(db_path: Path, version: str) -> dict[str, TableProfile] | None:
    """The profiles of a workspace database for ``version`` (None for another file or no cache)."""
    cache = read_profiles(db_path, version) if db_path.name == DATA_FILE else None
    return cache[1] if cache is not None else None


def write_profiles(db_path: Path, catalog: Catalog, profiles: Mapping[str, TableProfile]) -> None:
    """Keep ``profiles`` beside ``db_path`` for the version it has now (replacing the file in one step)."""
    data = {
        "version": database_version(db_path),
        "relations": dict(sorted(catalog.items())),
        "profiles": {name: profiles[name].to_dict() for name in sorted(profiles) if name in catalog},
    }
    temporary = db_path.parent / f".{PROFILES_FILE}.{uuid.uuid4().hex}"
    try:
        temporary.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temporary, db_path.parent / PROFILES_FILE)
    finally:
        temporary.unlink(missing_ok=True)
