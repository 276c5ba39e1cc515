"""The errors of the formula checks: what is wrong and how to fix it, and the limits' own kinds."""

from __future__ import annotations

from sqlglot.errors import ParseError

from kpi_model.errors import KpiWizardError


class FormulaError(KpiWizardError):
    """A formula that will not be run: ``problem`` says what is wrong, ``fix`` what to do."""

    fix: str

    def __init__(self, problem: str, fix: str, *, position: int | None = None, text: str | None = None) -> None:
        where = ""
        if position is not None and text is not None:
            snippet = text[max(0, position - 10) : position + 20].replace("\n", " ")
            where = f" (at character {position + 1}: …{snippet}…)"
        super().__init__(problem, fix)
        self.args = (f"{problem}{where}. Fix: {fix}",)
        self.position = position
        self._where = where

    @property
    def stated_problem(self) -> str:
        """The problem and where in the formula it is (``… (at character 12: …)``)."""
        return f"{self.problem}{self._where}"


class SourceNotLoadedError(FormulaError):
    """A KPI's source has no data loaded (its file, or a table its view reads): a data problem, not a formula's."""


class FormulaLimitError(FormulaError):
    """Text the checks will not take on: over a size or nesting limit, or nested too deeply to check.

    The second kind depends on how much stack the caller left, so it is no parse error: callers that
    skip text sqlglot cannot parse must not skip it silently.
    """


class OverLimitError(FormulaLimitError, ParseError):
    """Text over a size or nesting limit, refused before sqlglot parses it.

    The limits are the ``MAX_*`` constants of :mod:`kpi_model.formula.limits`.

    Also a sqlglot :class:`ParseError`: it is a property of the text, so callers that skip text sqlglot
    cannot parse (``referenced_names``, the audit rules around ``parse_tree``) skip it too.
    """
