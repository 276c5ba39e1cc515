"""Small named exceptions. Each carries a message a person can act on, and the exit code it means.

An error states its ``problem`` and, when it knows one, its ``fix``; ``str(error)`` is both, as the
command line prints it, and the app shows them apart (the problem, then "Fix: …") as it shows a
finding. ``exit_code`` is what the command line exits with: every command maps errors the same way.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

# The command line's exit codes: 1 when the command ran and what it checked fails (findings at
# --fail-on, red KPIs, a KPI that did not compute), 2 when the input cannot be used as given, 130 when
# Ctrl-C stopped it and 143 when SIGTERM did (the shell's 128 + the signal's number).
EXIT_OK, EXIT_INVALID, EXIT_UNUSABLE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143
DUCKDB_SIGINT_MESSAGE = "Query interrupted"  # the RuntimeError DuckDB raises when Ctrl-C stops a query


class KpiWizardError(Exception):
    """Base class: something the user can fix; ``problem`` says what is wrong, ``fix`` what to do.

    Free text that already says both is one ``problem`` with no separate ``fix``.
    """

    exit_code: ClassVar[int] = EXIT_UNUSABLE

    def __init__(self, problem: str, fix: str | None = None) -> None:
        super().__init__(f"{problem}; {fix}" if fix else problem)
        self.problem = problem
        self.fix = fix

    @property
    def stated_problem(self) -> str:
        """The problem as shown above its fix; errors that know where it is add that."""
        return self.problem


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document, at a path such as ``kpis[3].goal``."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class WorkspaceError(KpiWizardError):
    """A workspace document that cannot be used as it is; ``problems`` lists why."""

    def __init__(self, problems: list[Problem], *, source: str | None = None) -> None:
        where = f"{source} is not a valid workspace" if source else "Not a valid workspace"
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{where} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n{lines}")
        self.problems = problems
        self.source = source


# An unknown id names the closest one, or lists the ids when there are this few to choose from.
_IDS_LISTED = 12


class UnknownKpiError(KpiWizardError):
    """A KPI id the workspace does not have: ``kpi_id``, and the closest known id as the fix."""

    def __init__(self, kpi_id: str, known_ids: Iterable[str]) -> None:
        known = sorted(set(known_ids))
        match = difflib.get_close_matches(kpi_id, known, n=1)
        if match:
            fix = f"did you mean '{match[0]}'?"
        elif not known:
            fix = "the workspace has no KPIs yet"
        elif len(known) <= _IDS_LISTED:
            fix = f"the workspace's KPIs are: {', '.join(known)}"
        else:
            fix = f"give a KPI id as written in the workspace file (it has {len(known)})"
        super().__init__(f"unknown KPI '{kpi_id}'", fix)
        self.kpi_id = kpi_id
        self.known_ids = known

    def __reduce__(self) -> tuple[type[UnknownKpiError], tuple[str, list[str]]]:
        # Rebuilt from its data, not its message, when a job process sends it back.
        return type(self), (self.kpi_id, self.known_ids)


class StoreError(KpiWizardError):
    """The workspace store could not read or write a file (disk, permissions, names)."""


class SourceError(KpiWizardError):
    """A data file or source that cannot be loaded; the message names the problem and the fix."""


class ProfileTimeout(SourceError):
    """Profiling a table or view ran past its time limit and was interrupted."""


class WhatIfError(KpiWizardError):
    """A what-if that cannot be answered as asked; the message says why and what to do."""
