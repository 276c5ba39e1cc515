"""Option groups that several commands share, and the argument types they read with.

Each command declares its own options next to its code; what is written the same way in several
commands (``--data``, ``--kpi``, ``--grain``, ``--format``, ``-o``/``--force``, ``--as-of``) is
declared once here. ``choices`` come from the constants that define them; those that live in
heavy modules (the SQL dialects) are read only when argparse checks or shows them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
from collections.abc import Callable, Iterator, Sequence

from kpi_model.periods import GRAINS


class Deferred:
    """Choices taken from ``module.name`` when first needed, so building the parser imports nothing heavy.

    An option with deferred choices needs a ``metavar``: argparse would otherwise list them at once.
    """

    def __init__(self, module: str, name: str, *, without: Sequence[str] = (), also: Sequence[str] = ()) -> None:
        self._where = (module, name)
        self._without = tuple(without)
        self._also = tuple(also)
        self._values: tuple[str, ...] | None = None

    def _loaded(self) -> tuple[str, ...]:
        if self._values is None:
            module, name = self._where
            values = [str(v) for v in getattr(importlib.import_module(module), name)]
            self._values = tuple(v for v in values if v not in self._without) + self._also
        return self._values

    def __len__(self) -> int:
        return len(self._loaded())

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __contains__(self, value: object) -> bool:
        return value in self._loaded()


DIALECTS = Deferred("kpi_model.formula.dialects", "DIALECTS")


def iso_date(text: str) -> dt.date:
    """An option's date, written YYYY-MM-DD (argparse shows the error with the command's usage)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date: write it as YYYY-MM-DD, e.g. 2025-12-31") from None


def count_up_to(most: int, *, least: int = 0) -> Callable[[str], int]:
    """An argparse type: a whole number from ``least`` to ``most``, else a message saying the range."""

    def read(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text[:40]}' is not a whole number") from None
        if not least <= value <= most:
            raise argparse.ArgumentTypeError(f"{value} is out of range: give {least} to {most}")
        return value

    return read


def add_workspace(parser: argparse.ArgumentParser) -> None:
    """The workspace file a command reads, as its first argument."""
    parser.add_argument("workspace", help="the workspace file (YAML or JSON)")


def add_data(parser: argparse.ArgumentParser, help: str = "load this file as source NAME (repeatable)") -> None:
    """``--data NAME=PATH``, repeatable: a file that stands in for (or adds) a source's data."""
    parser.add_argument("--data", action="append", default=[], metavar="NAME=PATH", help=help)


def add_kpi_filter(parser: argparse.ArgumentParser) -> None:
    """``--kpi ID``, repeatable: only these KPIs."""
    parser.add_argument("--kpi", action="append", default=[], metavar="ID", help="only this KPI (repeatable)")


def add_grain(parser: argparse.ArgumentParser, *, default: str | None = None) -> None:
    """``--grain``: the period every value is computed by."""
    shown = f"default {default}" if default else "default: the KPI's cadence, else month"
    parser.add_argument(
        "--grain", choices=list(GRAINS), default=default, help=f"periods to compute by ({shown}): %(choices)s"
    )


def add_format(parser: argparse.ArgumentParser, *formats: str) -> None:
    """``--format``; the first of ``formats`` is the default."""
    parser.add_argument(
        "--format", choices=list(formats), default=formats[0], help=f"output format (default {formats[0]})"
    )


def add_output(parser: argparse.ArgumentParser, *, metavar: str, help: str, force: str) -> None:
    """``-o/--output`` (required) and ``--force`` to replace what is there."""
    parser.add_argument("-o", "--output", required=True, metavar=metavar, help=help)
    parser.add_argument("--force", action="store_true", help=force)


def add_as_of(parser: argparse.ArgumentParser, help: str) -> None:
    """``--as-of DATE``: the day the command judges as on."""
    parser.add_argument("--as-of", type=iso_date, metavar="DATE", help=help)
