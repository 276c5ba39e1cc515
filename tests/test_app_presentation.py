"""Presentation mode in the app: ``?present=1`` opens a visit in it (the browser test covers the rest)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from .conftest import REPO


def test_the_address_turns_presentation_mode_on(tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.delenv("KPI_WIZARD_OPEN", raising=False)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception, at.exception
    assert at.toggle(key="presentation_mode").value is True, "a link with ?present=1 opens in the mode"
    assert at.query_params.get("present") == "1"
    styles = " ".join(h.proto.body for h in at.get("html"))
    assert "stMainBlockContainer" in styles, "the mode's styles are on the page"

    plain = AppTest.from_file(str(REPO / "app.py"), default_timeout=60).run()
    assert not plain.toggle, "without a workspace and outside the mode there is nothing to present"
    assert "stMainBlockContainer" not in " ".join(h.proto.body for h in plain.get("html"))
