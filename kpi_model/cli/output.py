"""What every command prints through: text a terminal cannot act on, and aligned tables."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

# What a terminal acts on instead of showing: C0 controls but newline and tab (ESC starts the
# clear-screen, window-title and hyperlink sequences, BEL rings, CR overwrites the line), DEL, C1
# controls (0x9b is a one-byte CSI) and the bidi controls that show text in another order than it
# is stored (U+202E makes "gnp.exe" read "exe.png").
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    r"""``text`` safe to print: each character a terminal would act on written as ``\uXXXX``.

    The same escape JSON uses, so a JSON document stays valid and means the same:
    ``inert("a\x1b[2Jb")`` is ``'a\\u001b[2Jb'``.
    """
    return _TERMINAL_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class InertStream:
    """A text stream that writes everything through ``inert``; all else is the wrapped stream's."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(inert(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def aligned(rows: Sequence[Sequence[str]], *, rule: bool = False) -> list[str]:
    """Rows of cells as lines with each column padded to its widest cell (a dashed rule under the first)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    if rule:
        lines.insert(1, "  ".join("-" * width for width in widths))
    return lines
