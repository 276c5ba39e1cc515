"""Zip archives a visitor uploads (an .xlsx is a zip of XML), judged before any reader unpacks them.

The directory states each part's packed and unpacked size; Python's zipfile stops at the declared
size and checks the CRC, so these numbers bound what any reader will unpack. A workbook that would
unpack to too much, or packs like a zip bomb, is refused before any part is unpacked. A workbook
that passes has the prologue of each part read for a DTD: entities are declared there, and expanding
them is how "billion laughs" bombs work, so a part that declares one is refused before openpyxl parses it.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from xml.parsers import expat

from kpi_model.errors import KpiWizardError

XLSX_RATIO_FROM_BYTES = 1024**2  # parts unpacking to less than this are not ratio-checked
_MAX_DEPTH = 12
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_PROLOGUE_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ZipLimits:
    """How much a workbook may unpack to, how tightly a part may be packed, and how many parts it may have."""

    max_unpacked_bytes: int
    max_ratio: float  # unpacked : packed, per part; real sheets pack 5-20 : 1, zip bombs about 1000 : 1
    max_members: int


def size_text(n: int) -> str:
    """A byte count as people read it: ``1.5 MB``."""
    units = ("bytes", "KB", "MB", "GB", "TB")
    power = 0
    while n >= 1024 ** (power + 1) and power < len(units) - 1:
        power += 1
    return f"{n} bytes" if power == 0 else f"{n / 1024**power:.1f} {units[power]}"


def check_xlsx_archive(path: Path, limits: ZipLimits, error: type[KpiWizardError], *, name: str | None = None) -> None:
    """Raise ``error`` when the workbook at ``path`` is no zip, would unpack past ``limits``, or declares a DTD."""
    shown = name or path.name

    def unreadable(err: Exception) -> KpiWizardError:
        return error(
            f"{shown} is not a readable .xlsx workbook ({type(err).__name__}: {err}); "
            "open it in Excel and save it again as 'Excel Workbook (.xlsx)'."
        )

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as err:
        raise unreadable(err) from None
    export = "export the sheet you need as CSV UTF-8 and load that"
    if len(members) > limits.max_members:
        raise error(
            f"{shown} holds {len(members):,} parts, more than the {limits.max_members:,} a workbook may have: {export}."
        )
    unpacked = sum(member.file_size for member in members)
    if unpacked > limits.max_unpacked_bytes:
        raise error(
            f"{shown} unpacks to {size_text(unpacked)}, over the {size_text(limits.max_unpacked_bytes)} limit: "
            f"{export}, or save a smaller extract."
        )
    for member in members:
        ratio = packed_ratio(member, limits)
        if ratio is not None:
            raise error(
                f"{shown} has a part packed {ratio:,.0f} : 1 ({size_text(member.compress_size)} unpacking to "
                f"{size_text(member.file_size)}), past the {limits.max_ratio:g} : 1 a workbook may have "
                f"(that is how zip bombs look): {export}."
            )
    try:
        with zipfile.ZipFile(path) as archive:
            declares = any(_declares_dtd(archive, member) for member in members if not member.is_dir())
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError, zlib.error) as err:
        raise unreadable(err) from None  # an encrypted part, an unknown compression, damaged deflate data
    if declares:
        raise error(
            f"{shown} declares XML entities (a DTD), which KPI Wizard does not read and Excel never writes: "
            f"open it in Excel and save it again as 'Excel Workbook (.xlsx)', or {export}."
        )


class _Verdict(Exception):
    """Ends a prologue read early: ``declares`` tells whether a DTD came before the root element."""

    def __init__(self, declares: bool) -> None:
        self.declares = declares


def _declares_dtd(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bool:
    """Whether ``member`` is XML with a DTD, read with the parser openpyxl uses up to its root element only.

    A DTD may only come before the root element, so a sheet of any size costs one chunk. A part that is
    no XML (an image) or is damaged is no DTD: openpyxl reports it when it parses the part, if it ever does.
    """

    def found(declares: bool) -> Callable[..., None]:
        def handler(*_: object) -> None:
            raise _Verdict(declares)

        return handler

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = found(True)
    parser.StartElementHandler = found(False)
    with archive.open(member) as stream:
        try:
            while chunk := stream.read(_PROLOGUE_CHUNK):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except _Verdict as verdict:
            return verdict.declares
        except expat.ExpatError:
            return False
    return False


def packed_ratio(member: zipfile.ZipInfo, limits: ZipLimits) -> float | None:
    """How tightly ``member`` is packed (unpacked : packed) when that is past ``limits``, else None.

    Parts unpacking to less than :data:`XLSX_RATIO_FROM_BYTES` are never judged: small text packs tightly.
    """
    ratio = member.file_size / max(member.compress_size, 1)
    return ratio if member.file_size >= XLSX_RATIO_FROM_BYTES and ratio > limits.max_ratio else None


# Names that are archives themselves: a zip inside a zip is never unpacked.
ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".7z", ".rar")


def _clipped(name: str, limit: int = 80) -> str:
    return name if len(name) <= limit else f"…{name[-limit:]}"


def _listed(names: list[str]) -> str:
    shown = ", ".join(f"'{_clipped(n)}'" for n in names[:3])
    return shown + (f" and {len(names) - 3:,} more" if len(names) > 3 else "")


def safe_name(name: str, fallback: str = "file") -> str:
    """One path component made from an uploaded name: letters, digits, '.', '_' and '-' only; never '..'."""
    cleaned = _UNSAFE.sub("_", name).strip("_")[:80]
    return fallback if cleaned in ("", ".", "..") or set(cleaned) == {"."} else cleaned


def unpack_files(
    archive_path: Path,
    into: Path,
    *,
    suffixes: Collection[str],
    limits: ZipLimits,
    error: type[KpiWizardError],
    shown: str,
    refuse: str,
    skipped: list[str] | None = None,
) -> int:
    """Unpack the members of an uploaded zip whose names end in ``suffixes`` into ``into``; how many were written.

    Every path component is rebuilt with :func:`safe_name` (no ``..``, no absolute path), so nothing lands
    outside ``into``; sizes, ratios and member counts are judged from the directory before anything is
    written, and each read stops at the limit whatever the directory claims. ``refuse`` is the fix told to
    the visitor when the archive is refused. What is passed over besides files of other kinds (a path
    deeper than :data:`_MAX_DEPTH` folders, a zip inside the zip, two names that sanitise alike) is told
    in ``skipped``, one sentence each, when it is given.
    """
    passed_over = skipped if skipped is not None else []
    try:
        with zipfile.ZipFile(archive_path) as archive:
            members = archive.infolist()
            if len(members) > limits.max_members:
                raise error(f"{shown} holds {len(members):,} files, more than {limits.max_members:,}. {refuse}")
            wanted = [m for m in members if not m.is_dir() and PurePosixPath(m.filename).suffix.lower() in suffixes]
            nested = [m.filename for m in members if not m.is_dir() and m.filename.lower().endswith(ARCHIVE_SUFFIXES)]
            if nested:
                passed_over.append(
                    f"{shown} holds {_listed(nested)}, a zip inside the zip, which is not unpacked: "
                    "unzip it and upload its .yml files."
                )
            unpacked = sum(m.file_size for m in wanted)
            if unpacked > limits.max_unpacked_bytes:
                raise error(
                    f"{shown} unpacks to {size_text(unpacked)}, over the "
                    f"{size_text(limits.max_unpacked_bytes)} limit. {refuse}"
                )
            written = 0
            for member in wanted:
                ratio = packed_ratio(member, limits)
                if ratio is not None:
                    raise error(f"{shown} has a file packed {ratio:,.0f} : 1 (as zip bombs are). {refuse}")
                parts = [p for p in member.filename.replace("\\", "/").split("/") if p not in ("", ".", "..")]
                if not parts:
                    continue
                if len(parts) > _MAX_DEPTH:
                    passed_over.append(
                        f"{shown}: '{_clipped(member.filename)}' has a path of {len(parts)} levels, more than the "
                        f"{_MAX_DEPTH} a zip may have, and was not unpacked: zip the models folder itself."
                    )
                    continue
                target = into.joinpath(*(safe_name(p, "folder") for p in parts))
                if target.exists():  # two members that sanitise alike: the first is kept
                    passed_over.append(
                        f"{shown}: '{_clipped(member.filename)}' has the same name as another file once unusual "
                        "characters are replaced, and was not unpacked: rename one of them."
                    )
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, target.open("wb") as sink:
                    sink.write(source.read(limits.max_unpacked_bytes + 1))
                written += 1
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as err:
        raise error(f"{shown} is not a readable zip archive ({type(err).__name__}); zip the folder again") from None
    return written
