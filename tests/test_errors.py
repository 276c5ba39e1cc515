"""Errors carry their problem, their fix and their exit code; the app shows the fix as findings show theirs."""

from __future__ import annotations

import pickle

import pytest

from kpi_model.errors import EXIT_UNUSABLE, KpiWizardError, UnknownKpiError, WorkspaceError
from kpi_model.formula import FormulaError, check_aggregate


def test_an_error_states_its_problem_and_fix_apart_and_together():
    error = KpiWizardError("out.yaml exists", "add --force to replace it")
    assert (error.problem, error.fix, str(error)) == (
        "out.yaml exists",
        "add --force to replace it",
        "out.yaml exists; add --force to replace it",
    )
    plain = KpiWizardError("the file is empty; choose another")
    assert (plain.problem, plain.fix, str(plain)) == (
        "the file is empty; choose another",
        None,
        "the file is empty; choose another",
    )
    assert error.exit_code == plain.exit_code == EXIT_UNUSABLE


@pytest.mark.parametrize(
    ("known", "fix"),
    [
        (["revenue", "gross_margin"], "did you mean 'revenue'?"),
        (["gross_margin", "csat"], "the workspace's KPIs are: csat, gross_margin"),
        ([], "the workspace has no KPIs yet"),
        ([f"kpi_{n:02}" for n in range(30)], "give a KPI id as written in the workspace file (it has 30)"),
    ],
)
def test_an_unknown_kpi_names_the_closest_id_or_what_there_is(known, fix):
    error = UnknownKpiError("revenu", known)
    assert (error.problem, error.fix, error.kpi_id) == ("unknown KPI 'revenu'", fix, "revenu")
    assert str(error) == f"unknown KPI 'revenu'; {fix}"


def test_a_formula_error_keeps_where_and_its_own_message():
    with pytest.raises(FormulaError) as caught:
        check_aggregate("sum(amount) + read_csv('x')")
    error = caught.value
    assert error.position == 14 and error.fix
    assert str(error) == f"{error.stated_problem}. Fix: {error.fix}"
    assert error.stated_problem.startswith(error.problem) and "at character" in error.stated_problem
    assert "at character" not in error.problem


def test_document_error_keeps_its_bare_problem():
    from kpi_model.documents import DocumentError

    error = DocumentError("a tab where spaces belong", line=3, column=5)
    assert (error.problem, str(error)) == ("a tab where spaces belong", "line 3, column 5: a tab where spaces belong")


def test_errors_survive_the_trip_to_and_from_a_job_process():
    error = pickle.loads(pickle.dumps(KpiWizardError("the problem", "the fix")))
    assert (str(error), error.problem, error.fix) == ("the problem; the fix", "the problem", "the fix")
    unknown = pickle.loads(pickle.dumps(UnknownKpiError("revenu", ["revenue", "csat"])))
    assert isinstance(unknown, UnknownKpiError) and (unknown.kpi_id, unknown.known_ids) == (
        "revenu",
        ["csat", "revenue"],
    )
    assert str(unknown) == "unknown KPI 'revenu'; did you mean 'revenue'?"


def test_the_app_shows_the_problem_then_the_fix(monkeypatch):
    import ui.feedback as feedback

    shown: list[str] = []
    monkeypatch.setattr(feedback.st, "error", lambda text, **_: shown.append(text))
    feedback.show_error(UnknownKpiError("revenu", ["revenue"]), headline="Not computed.")
    feedback.show_error(KpiWizardError("the file is empty"))
    feedback.show_error(WorkspaceError([]))
    with_fix, plain, _ = shown
    assert with_fix == "Not computed\\. Unknown KPI 'revenu'  \n**Fix:** Did you mean 'revenue'?"
    assert plain == "The file is empty" and "Fix" not in plain
