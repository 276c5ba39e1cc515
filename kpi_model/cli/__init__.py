"""The ``kpi-wizard`` command line: a thin layer over the library.

One module per group of commands declares their options beside their code (``register``); this
module builds the parser from them and maps every error to its exit code in one place. Heavy
modules (duckdb, sqlglot) are imported inside the commands that need them, so ``kpi-wizard
--help`` and ``validate`` start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from kpi_model import __version__
from kpi_model.cli import alerts, audit, bundle, compute, documents, export, importing, report, serve, sql, whatif
from kpi_model.cli.output import InertStream, inert
from kpi_model.errors import (
    DUCKDB_SIGINT_MESSAGE,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_UNUSABLE,
    KpiWizardError,
)

__all__ = ["EXIT_INTERRUPTED", "EXIT_INVALID", "EXIT_OK", "EXIT_UNUSABLE", "build_parser", "inert", "main"]

# In the order ``kpi-wizard --help`` lists them: the app, the file, the numbers, the audit, the
# what-ifs, what is handed on, the routine.
_COMMAND_GROUPS = (serve, documents, compute, sql, audit, importing, whatif, report, export, alerts, bundle)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(prog="kpi-wizard", description="Design, check and keep KPIs.")
    parser.add_argument("--version", action="version", version=f"kpi-wizard {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in _COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code.

    Everything printed goes through ``inert``: names, notes and messages quote files the user was
    handed, and a KPI named with ESC sequences must not clear the screen or retitle the window. The
    one exception is CSV (``compute``) written to a file or pipe: that is data, kept as it is.
    """
    stdout, stderr = sys.stdout, sys.stderr
    sys.stderr = InertStream(stderr)  # type: ignore[assignment]
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "format", None) != "csv" or stdout.isatty():
            sys.stdout = InertStream(stdout)  # type: ignore[assignment]
        with _terminate_as_interrupt(args.command != "serve"):  # the app's server handles its own signals
            return _run(args)
    finally:
        sys.stdout, sys.stderr = stdout, stderr


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a CI job cancelled), raised where Ctrl-C would be: the same clean-up
    runs (queries interrupted, spill folders removed), and the exit code says which it was."""


@contextlib.contextmanager
def _terminate_as_interrupt(wanted: bool) -> Iterator[None]:
    if not wanted or threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    """The command's exit code; the one place an error becomes a message and an exit code."""
    try:
        return int(args.run(args))
    except KpiWizardError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt as stop:
        terminated = isinstance(stop, Terminated)
        print("terminated" if terminated else "interrupted", file=sys.stderr)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    except RuntimeError as error:
        if str(error) != DUCKDB_SIGINT_MESSAGE:  # Ctrl-C in a DuckDB query outside the engine (a view's check)
            raise
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader (head, less) stopped early: not an error; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as error:
        print(f"error: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return EXIT_UNUSABLE
