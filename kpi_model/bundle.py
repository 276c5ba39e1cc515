"""A workspace bundle: one ``.zip`` with a workspace, its data files and a manifest, to keep or hand on.

Layout (nothing else is allowed in a bundle)::

    manifest.json          format, format version, created-at, tool version, and every other file
                           with its size in bytes and SHA-256
    workspace.yaml         the workspace; each file source's path is data/<source name><suffix>
    data/<name><suffix>    one data file per file source (CSV, TSV, Parquet, JSON, XLSX)

A bundle may come from anyone, so :func:`open_bundle` verifies before anything is used: the zip's
central directory is judged first (entry names, count, sizes, packing ratio, no bundle inside the
bundle, no links, no encryption), then the manifest must list exactly the files present with their
sizes, then each file is unpacked into a new folder while its SHA-256 is checked, then the workspace is
read under the workspace document limits and every source path must name a file of the bundle. Any
failure raises :class:`BundleError` naming the problem and the fix, and removes what was unpacked.
Names are never taken from the zip as paths: each is matched against the layout above first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import shutil
import stat
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from kpi_model import __version__, documents, workspace_file
from kpi_model.archives import ARCHIVE_SUFFIXES, ZipLimits, packed_ratio, size_text
from kpi_model.errors import KpiWizardError
from kpi_model.models import Workspace

FORMAT = "kpi-wizard-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WORKSPACE = "workspace.yaml"
DATA_FOLDER = "data"
# The data suffixes a source file may have (as kpi_model.sources.SUPPORTED_SUFFIXES, without importing DuckDB).
DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".json", ".ndjson", ".jsonl", ".xlsx")
_ALREADY_PACKED = (".parquet", ".xlsx")  # stored as they are: deflating them again gains nothing
_DATA_NAME = re.compile(r"^data/[A-Za-z_][A-Za-z0-9_]{0,62}\.[a-z]+$")
_CHUNK = 1024 * 1024

# A bundle holds a workspace and the files of its sources: as much data as one upload may be (2 GB), and a
# file per source. CSV packs 5-20 : 1 and very repetitive CSV about 100 : 1; zip bombs about 1000 : 1.
DEFAULT_LIMITS = ZipLimits(max_unpacked_bytes=2 * 1024**3, max_ratio=200, max_members=202)
_MANIFEST_LIMITS = documents.Limits(
    what="a bundle manifest",
    hint="a manifest is a short JSON list of files — make the bundle again with KPI Wizard",
    size_hint="a manifest lists a few files — make the bundle again with KPI Wizard",
    max_bytes=1024**2,
)
OPEN_TIMEOUT_S = 300.0  # verifying and unpacking an uploaded bundle in a job (2 GB hash and write in about a minute)
_REMAKE = "make the bundle again with KPI Wizard (Review → Download bundle, or `kpi-wizard bundle`)"


class BundleError(KpiWizardError):
    """A bundle that cannot be made or opened; the message names the problem and the fix."""


@dataclass(frozen=True)
class BundledFile:
    """One file a manifest lists: its path in the bundle, its size and its SHA-256 (hex)."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What a bundle says it holds."""

    created_at: str
    tool_version: str
    files: tuple[BundledFile, ...]
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        """The manifest as the JSON written into the bundle."""
        data = {
            "format": FORMAT,
            "format_version": self.format_version,
            "created_at": self.created_at,
            "tool_version": self.tool_version,
            "workspace": WORKSPACE,
            "files": [{"path": f.path, "bytes": f.size, "sha256": f.sha256} for f in self.files],
        }
        return json.dumps(data, indent=2) + "\n"


@dataclass(frozen=True)
class BuiltBundle:
    """A bundle written: its manifest, and what was left out of it (one sentence each)."""

    manifest: Manifest
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OpenedBundle:
    """A verified bundle unpacked into ``folder``: its workspace and the file of each file source."""

    workspace: Workspace
    folder: Path
    data_files: dict[str, Path]
    manifest: Manifest


# ---------------------------------------------------------------------------- making a bundle


def source_files(workspace: Workspace, base_dir: Path, *, confine: bool = True) -> dict[str, Path]:
    """The data file of each file source whose file exists, paths resolved against ``base_dir``.

    With ``confine`` (the app) a path out of ``base_dir`` is skipped like a missing file, so no file of the
    server outside the workspace's folder is ever bundled; :func:`write_bundle` then notes the source.
    """
    from kpi_model.sources import SourceError
    from kpi_model.sources.workspace import resolve_source_path  # DuckDB only when a bundle is made

    found: dict[str, Path] = {}
    for source in workspace.sources:
        if not source.path:
            continue
        try:
            path = resolve_source_path(Path(base_dir), source.path, confine=confine)
        except SourceError:
            continue
        if path.is_file():
            found[source.name] = path
    return found


def export_tables(db_path: Path, names: Sequence[str], folder: Path) -> dict[str, Path]:
    """Write each of the tables ``names`` of the DuckDB database at ``db_path`` to ``folder/<name>.parquet``.

    For a source whose file is not at hand but whose table is loaded (a saved copy of the sample keeps its
    data only in the database): the table, type fixes included, travels as Parquet. The connection is
    read-only and locked; it may write into ``folder`` and touch no other file.
    """
    import duckdb  # only when tables are exported

    from kpi_model.engine import lock
    from kpi_model.formula.compile import quote

    target_folder = folder.resolve()
    connection = duckdb.connect(str(db_path), read_only=True)
    try:
        lock(connection, allowed_directories=[str(target_folder)])
        present = {row[0].lower() for row in connection.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        written: dict[str, Path] = {}
        for name in names:
            if name.lower() not in present or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                continue
            target = target_folder / f"{name}.parquet"
            literal = "'" + str(target).replace("'", "''") + "'"
            connection.execute(f"COPY {quote(name)} TO {literal} (FORMAT parquet)")
            written[name] = target
    finally:
        connection.close()
    return written


def export_loaded_tables(db_path: Path, names: Sequence[str], folder: Path) -> dict[str, Path]:
    """:func:`export_tables` in an isolated job, under the database's lock (the app's way)."""
    from kpi_model.isolation import database_lock, run_job

    with database_lock(db_path):
        return run_job(  # type: ignore[no-any-return]
            export_tables,
            (db_path, list(names), folder),
            what="exporting the loaded tables for the bundle",
            fix="Upload the sources' files on the Data page, then download the bundle again.",
            timeout_s=OPEN_TIMEOUT_S,
            redact={str(folder): "a temporary folder", str(db_path.parent): "the workspace folder"},
        )


def write_bundle(
    target: Path | IO[bytes],
    workspace: Workspace,
    data_files: Mapping[str, Path],
    *,
    created_at: dt.datetime | None = None,
    limits: ZipLimits = DEFAULT_LIMITS,
) -> BuiltBundle:
    """Write ``workspace`` with ``data_files`` (source name → file) as a bundle to ``target``.

    Each file source's path becomes ``data/<name><suffix>``; a file source without a file in ``data_files``
    loses its path (it stays declared) and gets a note. A bundle that could not be opened again (too
    large, too many files) is refused before anything is written.
    """
    notes: list[str] = []
    entries: dict[str, Path] = {}
    sources = []
    for source in workspace.sources:
        file = data_files.get(source.name)
        if not source.path and file is None:
            sources.append(source)
            continue
        suffix = file.suffix.lower() if file is not None else ""
        if file is None or suffix not in DATA_SUFFIXES:
            why = (
                f"has no data file ('{source.path}' is missing)"
                if file is None
                else f"has a '{suffix or 'no'}' file, which cannot be loaded"
            )
            notes.append(f"source '{source.name}' {why}: it is bundled without data; upload its file after opening")
            sources.append(source.model_copy(update={"path": None}))
            continue
        arcname = f"{DATA_FOLDER}/{source.name}{suffix}"
        entries[arcname] = file
        sources.append(source.model_copy(update={"path": arcname}))
    folded: dict[str, str] = {}
    for name in entries:
        if name.casefold() in folded:
            raise BundleError(
                f"The sources '{PurePosixPath(folded[name.casefold()]).stem}' and '{PurePosixPath(name).stem}' differ "
                "only in case, which DuckDB and some file systems read as one name: rename one of the sources."
            )
        folded[name.casefold()] = name
    unknown = sorted(set(data_files) - {s.name for s in workspace.sources})
    if unknown:
        raise BundleError(f"No source named {', '.join(repr(u) for u in unknown)} in the workspace: add it first.")
    document = workspace_file.dumps(workspace.model_copy(update={"sources": sources}), "yaml").encode("utf-8")
    if len(entries) + 2 > limits.max_members:
        raise BundleError(
            f"A bundle holds at most {limits.max_members - 2} data files and this workspace has {len(entries)}: "
            "bundle fewer sources (join small tables into one file)."
        )
    listed = [BundledFile(WORKSPACE, len(document), hashlib.sha256(document).hexdigest())]
    listed += [BundledFile(name, *_size_and_hash(path)) for name, path in entries.items()]
    total = sum(f.size for f in listed)
    if total > limits.max_unpacked_bytes:
        raise BundleError(
            f"The data comes to {size_text(total)}, over the {size_text(limits.max_unpacked_bytes)} a bundle may "
            "hold: bundle an extract (fewer rows or columns), or convert large CSVs to Parquet."
        )
    when = (created_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    manifest = Manifest(when.isoformat().replace("+00:00", "Z"), __version__, tuple(listed))
    stored = {name for name in entries if name.endswith(_ALREADY_PACKED)}
    if isinstance(target, Path):  # written beside, then moved in: a failed write leaves no half bundle
        partial = target.with_name(f".{target.name}.partial")
        try:
            _write_checked_zip(partial, manifest, document, entries, stored, limits)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    else:
        buffer = io.BytesIO()
        _write_checked_zip(buffer, manifest, document, entries, stored, limits)
        target.write(buffer.getvalue())
    return BuiltBundle(manifest, notes)


def bundle_bytes(workspace: Workspace, data_files: Mapping[str, Path]) -> tuple[bytes, BuiltBundle]:
    """:func:`write_bundle` into memory (for a download)."""
    out = io.BytesIO()
    built = write_bundle(out, workspace, data_files)
    return out.getvalue(), built


def _size_and_hash(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _write_checked_zip(
    sink: Path | io.BytesIO,
    manifest: Manifest,
    document: bytes,
    entries: Mapping[str, Path],
    stored: set[str],
    limits: ZipLimits,
) -> None:
    """Write the zip; a file that deflated past the packing ratio opening allows (very repetitive data)
    is then stored as it is, so every bundle made here opens again."""
    _write_zip(sink, manifest, document, entries, stored)
    too_packed = _too_packed(sink, limits)
    if too_packed:
        if isinstance(sink, io.BytesIO):
            sink.seek(0)
            sink.truncate()
        _write_zip(sink, manifest, document, entries, stored | too_packed)


def _write_zip(
    sink: Path | IO[bytes], manifest: Manifest, document: bytes, entries: Mapping[str, Path], stored: set[str]
) -> None:
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, manifest.to_json())
        archive.writestr(WORKSPACE, document)
        for name, path in entries.items():
            archive.write(path, name, compress_type=zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED)


def _too_packed(sink: Path | IO[bytes], limits: ZipLimits) -> set[str]:
    if not isinstance(sink, Path):
        sink.seek(0)
    with zipfile.ZipFile(sink) as archive:
        return {m.filename for m in archive.infolist() if packed_ratio(m, limits) is not None}


# ---------------------------------------------------------------------------- opening a bundle


def open_bundle(
    bundle: Path,
    into: Path,
    *,
    limits: ZipLimits = DEFAULT_LIMITS,
    read_workspace: Callable[[str, str], Workspace] | None = None,
    shown: str | None = None,
) -> OpenedBundle:
    """Verify the bundle at ``bundle`` and unpack it into the new (or empty) folder ``into``.

    ``read_workspace(text, shown)`` reads the workspace document (the app passes one that runs in an
    isolated job); by default :func:`kpi_model.workspace_file.loads`. On any problem, what was unpacked
    is removed and :class:`BundleError` (or the reader's :class:`~kpi_model.errors.WorkspaceError`) raised.
    """
    name = shown or bundle.name
    if into.exists() and (not into.is_dir() or any(into.iterdir())):
        raise BundleError(f"{into} is not an empty folder: give a new folder to open {name} into.")
    made = not into.exists()
    try:
        return _open(bundle, into, limits, read_workspace or _read_workspace, name)
    except BaseException:
        if made:
            shutil.rmtree(into, ignore_errors=True)
        else:
            for child in into.iterdir():
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        raise


def open_uploaded(bundle: Path, into: Path, shown: str) -> OpenedBundle:
    """:func:`open_bundle` for a bundle a visitor uploaded, in an isolated job (:mod:`kpi_model.isolation`).

    Python's zipfile reads a zip's whole directory into memory before any count can be checked, and a
    bundle is unpacked and hashed in full: a directory built to exhaust memory, or a slow unpack, ends
    the job with a message, never the server.
    """
    from kpi_model.isolation import run_job  # the CLI never needs the job machinery

    return run_job(  # type: ignore[no-any-return]
        _open_job,
        (bundle, into, shown),
        what=f"opening {shown}",
        fix=f"Open a smaller bundle, or {_REMAKE}.",
        timeout_s=OPEN_TIMEOUT_S,
        after="nothing was opened",
        redact={str(into): "the bundle's folder", str(bundle): shown},
    )


def _open_job(bundle: Path, into: Path, shown: str) -> OpenedBundle:
    return open_bundle(bundle, into, shown=shown)


def _read_workspace(text: str, shown: str) -> Workspace:
    return workspace_file.loads(text, "yaml", source=shown)


def _open(
    bundle: Path, into: Path, limits: ZipLimits, read_workspace: Callable[[str, str], Workspace], name: str
) -> OpenedBundle:
    try:
        with zipfile.ZipFile(bundle) as archive:
            members = _checked_members(archive.infolist(), limits, name)
            manifest = _read_manifest(archive, members, name)
            files = {f.path: f for f in manifest.files}
            into.mkdir(parents=True, exist_ok=True)
            for path, listed in files.items():
                _unpack(archive, members[path], listed, into, name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError, OSError) as err:
        raise BundleError(
            f"{name} is not a readable zip ({type(err).__name__}: {err}); download or {_REMAKE} and try again."
        ) from None
    text = (into / WORKSPACE).read_text(encoding="utf-8-sig")
    workspace = read_workspace(text, f"{name}: {WORKSPACE}")
    data_files = _data_files(workspace, set(files), into, name)
    return OpenedBundle(workspace, into, data_files, manifest)


def _checked_members(members: list[zipfile.ZipInfo], limits: ZipLimits, name: str) -> dict[str, zipfile.ZipInfo]:
    """The bundle's files by name, after every check the central directory allows."""
    if len(members) > limits.max_members:
        raise BundleError(
            f"{name} holds {len(members):,} entries, more than the {limits.max_members:,} a bundle may have "
            f"(a workspace, a manifest and a file per source): {_REMAKE}."
        )
    by_name: dict[str, zipfile.ZipInfo] = {}
    by_folded: dict[str, str] = {}
    for member in members:
        entry = member.filename
        shown = entry if len(entry) <= 80 else f"{entry[:77]}…"
        if member.is_dir():
            if entry.rstrip("/") == DATA_FOLDER:
                continue  # a folder entry that zip tools add
            raise BundleError(f"{name} holds a folder '{shown}'; a bundle has only the data/ folder: {_REMAKE}.")
        problem = _name_problem(entry)
        if problem:
            raise BundleError(f"{name}: the entry '{shown}' {problem}, so the bundle is refused: {_REMAKE}.")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise BundleError(
                f"{name}: '{shown}' is a symbolic link, which could point anywhere on this machine; a bundle holds "
                f"files only: {_REMAKE}."
            )
        if member.flag_bits & 0x1:
            raise BundleError(f"{name}: '{shown}' is encrypted; a bundle is not: {_REMAKE} without a password.")
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise BundleError(
                f"{name}: '{shown}' is packed with an unusual method ({member.compress_type}); a bundle uses "
                f"deflate: {_REMAKE}."
            )
        if entry in by_name:
            raise BundleError(f"{name} holds '{shown}' twice, and either copy could be the one read: {_REMAKE}.")
        folded = entry.casefold()
        if folded in by_folded:
            raise BundleError(
                f"{name} holds '{by_folded[folded]}' and '{shown}', names that differ only in case and are one "
                f"file on some systems: {_REMAKE}."
            )
        by_name[entry], by_folded[folded] = member, entry
    unpacked = sum(m.file_size for m in by_name.values())
    if unpacked > limits.max_unpacked_bytes:
        raise BundleError(
            f"{name} unpacks to {size_text(unpacked)}, over the {size_text(limits.max_unpacked_bytes)} a bundle may "
            "hold: bundle an extract (fewer rows or columns), or convert large CSVs to Parquet."
        )
    for entry, member in by_name.items():
        ratio = packed_ratio(member, limits)
        if ratio is not None:
            raise BundleError(
                f"{name}: '{entry}' is packed {ratio:,.0f} : 1 ({size_text(member.compress_size)} unpacking to "
                f"{size_text(member.file_size)}), past the {limits.max_ratio:g} : 1 a bundle may have (that is how "
                f"zip bombs look): {_REMAKE}."
            )
    if MANIFEST not in by_name:
        raise BundleError(
            f"{name} has no {MANIFEST}, so it is not a KPI Wizard bundle: {_REMAKE}, or upload a workspace "
            "YAML file with 'Upload a workspace file'."
        )
    return by_name


def _name_problem(entry: str) -> str | None:
    """Why an entry's name is not one a bundle may hold, or None."""
    if entry.startswith("/") or re.match(r"^[A-Za-z]:", entry):
        return "is an absolute path, which would be written outside the folder it is opened into"
    if "\\" in entry:
        return "contains a backslash, which is a folder separator on Windows"
    if ".." in entry.split("/"):
        return "climbs out with '..', which would be written outside the folder it is opened into"
    if entry.lower().endswith(ARCHIVE_SUFFIXES):
        return "is an archive: a bundle inside a bundle is not opened; unzip it and open the inner bundle itself"
    if entry in (MANIFEST, WORKSPACE):
        return None
    if not _DATA_NAME.match(entry) or PurePosixPath(entry).suffix not in DATA_SUFFIXES:
        return (
            f"is not {MANIFEST}, {WORKSPACE} or a data file data/<source name><suffix> "
            f"(suffix one of {', '.join(DATA_SUFFIXES)})"
        )
    return None


def _read_manifest(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], name: str) -> Manifest:
    """The manifest, after checking it lists exactly the bundle's other files with their sizes."""
    member = members[MANIFEST]
    if member.file_size > (_MANIFEST_LIMITS.max_bytes or 0):
        raise BundleError(f"{name}: {MANIFEST} is {size_text(member.file_size)}, far more than a manifest: {_REMAKE}.")
    with archive.open(member) as stream:
        raw = stream.read(member.file_size + 1)
    try:
        data = documents.load_json(raw.decode("utf-8"), _MANIFEST_LIMITS)
    except (UnicodeDecodeError, documents.DocumentError) as error:
        raise BundleError(f"{name}: {MANIFEST} is not valid JSON ({error}): {_REMAKE}.") from None
    manifest = _parse_manifest(data, name)
    listed = {f.path for f in manifest.files}
    present = set(members) - {MANIFEST}
    if WORKSPACE not in listed:
        raise BundleError(f"{name}: {MANIFEST} does not list {WORKSPACE}, the workspace itself: {_REMAKE}.")
    if len(listed) != len(manifest.files):
        raise BundleError(f"{name}: {MANIFEST} lists a file twice: {_REMAKE}.")
    if listed - present:
        missing = ", ".join(sorted(listed - present))
        raise BundleError(f"{name}: {MANIFEST} lists {missing}, which the bundle does not hold: {_REMAKE}.")
    if present - listed:
        extra = ", ".join(sorted(present - listed))
        raise BundleError(
            f"{name} holds {extra}, which {MANIFEST} does not list (added after the bundle was made?): {_REMAKE}."
        )
    for bundled in manifest.files:
        actual = members[bundled.path].file_size
        if actual != bundled.size:
            raise BundleError(
                f"{name}: '{bundled.path}' is {actual:,} bytes but {MANIFEST} says {bundled.size:,} (changed after "
                f"the bundle was made?): {_REMAKE}."
            )
    return manifest


def _parse_manifest(data: Any, name: str) -> Manifest:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BundleError(f"{name}: {MANIFEST} is not a KPI Wizard bundle manifest (no format '{FORMAT}'): {_REMAKE}.")
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise BundleError(f"{name}: {MANIFEST} has no format_version: {_REMAKE}.")
    if version > FORMAT_VERSION:
        raise BundleError(
            f"{name} is a version {version} bundle, newer than this KPI Wizard reads ({FORMAT_VERSION}): update "
            "KPI Wizard, or make the bundle with the version you have."
        )
    files = data.get("files")
    if not isinstance(files, list):
        raise BundleError(f"{name}: {MANIFEST} has no list of files: {_REMAKE}.")
    parsed = []
    for item in files:
        path, size, digest = (item.get(k) for k in ("path", "bytes", "sha256")) if isinstance(item, dict) else (0,) * 3
        if (
            not isinstance(path, str)
            or not isinstance(size, int)
            or isinstance(size, bool)
            or size < 0
            or not isinstance(digest, str)
            or not re.fullmatch(r"[0-9a-f]{64}", digest)
        ):
            raise BundleError(
                f"{name}: {MANIFEST} has a file entry without a path, a size in bytes and a SHA-256: {_REMAKE}."
            )
        parsed.append(BundledFile(path, size, digest))
    created, tool = data.get("created_at"), data.get("tool_version")
    return Manifest(str(created or ""), str(tool or ""), tuple(parsed), format_version=version)


def _unpack(archive: zipfile.ZipFile, member: zipfile.ZipInfo, listed: BundledFile, into: Path, name: str) -> None:
    """Write one checked entry under ``into`` (its name matched the layout), verifying size and SHA-256."""
    target = into.joinpath(*listed.path.split("/"))
    target.parent.mkdir(exist_ok=True)
    digest, written = hashlib.sha256(), 0
    with archive.open(member) as source, target.open("xb") as sink:  # "x": never through an existing file or link
        while chunk := source.read(min(_CHUNK, listed.size + 1 - written) or 1):
            written += len(chunk)
            if written > listed.size:
                break
            digest.update(chunk)
            sink.write(chunk)
    if written != listed.size or digest.hexdigest() != listed.sha256:
        raise BundleError(
            f"{name}: '{listed.path}' does not match the SHA-256 in {MANIFEST}: the file was changed or damaged "
            f"after the bundle was made, so nothing was opened; {_REMAKE}."
        )


def _data_files(workspace: Workspace, bundled: set[str], into: Path, name: str) -> dict[str, Path]:
    """The unpacked file of each file source; a path naming anything but a data file of the bundle is refused."""
    files: dict[str, Path] = {}
    for source in workspace.sources:
        if not source.path:
            continue
        path = source.path.replace("\\", "/").removeprefix("./")
        if path not in bundled or not path.startswith(f"{DATA_FOLDER}/"):
            shown = source.path if len(source.path) <= 80 else f"{source.path[:77]}…"
            raise BundleError(
                f"{name}: source '{source.name}' points at '{shown}', which is not a data file of the bundle; a "
                f"bundle reads only its own files (data/…): {_REMAKE}."
            )
        files[source.name] = into.joinpath(*path.split("/"))
    unused = sorted(bundled - {WORKSPACE} - {p.relative_to(into).as_posix() for p in files.values()})
    if unused:
        raise BundleError(
            f"{name} holds {', '.join(unused)}, which no source of its workspace reads: {_REMAKE}, or add a source "
            "for the file."
        )
    return files
