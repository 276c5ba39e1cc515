"""Small named exceptions. Each carries a message a person can act on."""

from __future__ import annotations

from dataclasses import dataclass


class KpiWizardError(Exception):
    """Base class: something the user can fix; the message says what and how."""


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
        self.problems = problems
        self.source = source
        where = f"{source} is not a valid workspace" if source else "Not a valid workspace"
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{where} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n{lines}")


class StoreError(KpiWizardError):
    """The workspace store could not read or write a file (disk, permissions, names)."""


class SourceError(KpiWizardError):
    """A data file or source that cannot be loaded; the message names the problem and the fix."""


class ProfileTimeout(SourceError):
    """Profiling a table or view ran past its time limit and was interrupted."""


class WhatIfError(KpiWizardError):
    """A what-if that cannot be answered as asked; the message says why and what to do."""
