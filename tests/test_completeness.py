"""Completeness marks: which fields a KPI still lacks."""

from __future__ import annotations

from kpi_model.completeness import FIELD_CHECKS, completeness, field_status, missing_fields
from kpi_model.models import Kpi


def test_fully_specified_kpi_is_complete(small_workspace):
    kpi = small_workspace.kpi("repeat_rate")
    assert missing_fields(kpi, small_workspace) == []
    assert completeness(kpi, small_workspace) == 1.0


def test_bare_kpi_lacks_almost_everything(small_workspace):
    kpi = small_workspace.kpi("on_time")
    status = field_status(kpi, small_workspace)
    assert status["goal"] is True and status["scale"] is True
    assert status["owner"] is False and status["formula"] is False
    assert completeness(kpi, small_workspace) == 2 / len(FIELD_CHECKS)


def test_derived_kpi_needs_no_source(small_workspace):
    derived = Kpi(id="combo", name="Combo", expression="repeat_rate * repeat_revenue")
    status = field_status(derived, small_workspace.model_copy(update={"kpis": [*small_workspace.kpis, derived]}))
    assert status["source"] and status["time column"]


def test_draft_with_formula_but_no_source_is_not_derived(small_workspace):
    draft = Kpi(id="draft", name="Draft", expression="sum(amount)")
    assert field_status(draft, small_workspace)["source"] is False


def test_range_target_needs_low_and_high(small_workspace):
    kpi = Kpi(id="r", name="R", direction="range", target={"value": 3})
    assert field_status(kpi, small_workspace)["target"] is False
    kpi = Kpi(id="r", name="R", direction="range", target={"low": 1, "high": 4})
    assert field_status(kpi, small_workspace)["target"] is True


def test_qualitative_needs_scale(small_workspace):
    assert field_status(Kpi(id="q", name="Q", measure="qualitative"), small_workspace)["scale"] is False
