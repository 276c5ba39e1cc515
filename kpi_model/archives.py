"""Zip archives a visitor uploads (an .xlsx is a zip of XML), judged from the central directory alone.

The directory states each part's packed and unpacked size; Python's zipfile stops at the declared
size and checks the CRC, so these numbers bound what any reader will unpack. A workbook that would
unpack to too much, or packs like a zip bomb, is refused before any part is unpacked.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from kpi_model.errors import KpiWizardError

XLSX_RATIO_FROM_BYTES = 1024**2  # parts unpacking to less than this are not ratio-checked


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
    """Raise ``error`` when the workbook at ``path`` is no zip, or would unpack past ``limits``."""
    shown = name or path.name
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as err:
        raise error(
            f"{shown} is not a readable .xlsx workbook ({type(err).__name__}: {err}); "
            "open it in Excel and save it again as 'Excel Workbook (.xlsx)'."
        ) from None
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
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size >= XLSX_RATIO_FROM_BYTES and ratio > limits.max_ratio:
            raise error(
                f"{shown} has a part packed {ratio:,.0f} : 1 ({size_text(member.compress_size)} unpacking to "
                f"{size_text(member.file_size)}), past the {limits.max_ratio:g} : 1 a workbook may have "
                f"(that is how zip bombs look): {export}."
            )
