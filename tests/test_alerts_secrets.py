"""Secrets in environment variables never reach a message: CLI text and JSON, the state file's log, the page.

The values hold colons on purpose: an error text cut at its first colon once showed what followed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpi_model import workspace_file
from kpi_model.alerts import state_path_for
from kpi_model.cli import main

from .conftest import REPO, SAMPLE_WORKSPACE
from .test_app_alerts import sample_with_alerts

VARIABLE = "KPI_WIZARD_TEST_SECRET"
# Each value is unusable as a web address for another reason; each holds a marker that must not show.
LEAKY_VALUES = {
    "password": "kpi:SMTPSECRET-pw-4242",
    "bad port": "https://hooks.slack.com:99999/services/T0/B0/SLACKTOKEN-9911",
    "space": "https://hooks.example.com/a b:SPACETOKEN-77",
    "user info": "https://user:USERTOKEN-55@hooks.example.com/x",
    "other scheme": "ftp://files:FTPTOKEN-33",
}
MARKERS = ("SMTPSECRET", "SLACKTOKEN", "SPACETOKEN", "USERTOKEN", "FTPTOKEN", "4242", "99999")


def workspace_with_hook_from(folder: Path) -> Path:
    data = workspace_file.to_data(workspace_file.load(SAMPLE_WORKSPACE))
    data["alerts"] = [{"channel": "webhook", "url_env": VARIABLE, "on": ["red", "amber"]}]
    folder.mkdir()
    (folder / "data").symlink_to(SAMPLE_WORKSPACE.parent / "data")
    path = folder / "workspace.yaml"
    workspace_file.save(workspace_file.loads(json.dumps(data), "json"), path)
    return path


def assert_no_marker(text: str) -> None:
    for marker in MARKERS:
        assert marker not in text, f"{marker} leaked in: {text[:300]}"


@pytest.mark.parametrize("value", LEAKY_VALUES.values(), ids=LEAKY_VALUES.keys())
def test_an_unusable_address_in_a_variable_is_named_never_quoted(tmp_path, capsys, monkeypatch, value):
    monkeypatch.setenv(VARIABLE, value)
    path = workspace_with_hook_from(tmp_path / "ws")
    texts = []
    for fmt in ("text", "json"):
        main(["check", str(path), "--as-of", "2026-12-05", "--format", fmt])
        out, err = capsys.readouterr()
        texts.append(out + err)
        assert f"${VARIABLE} does not hold a usable web address" in err, "the variable is named, with the fix"
    texts.append(state_path_for(path).read_text())
    for text in texts:
        assert_no_marker(text)


def test_the_page_never_shows_a_variable_s_value(tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_WIZARD_ALERT_HOSTS", "hooks.slack.com,hooks.example.com")
    monkeypatch.setenv(VARIABLE, LEAKY_VALUES["bad port"])
    workspace = sample_with_alerts(tmp_path / "ws", [{"channel": "webhook", "url_env": VARIABLE, "on": ["amber"]}])
    monkeypatch.setenv("KPI_WIZARD_HOME", str(tmp_path / "store"))
    monkeypatch.setenv("KPI_WIZARD_OPEN", str(workspace))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("pages/alerts.py").run()
    at.button(key="alerts_test_0").click().run()
    assert "does not hold a usable web address" in at.error[0].value
    at.button(key="alerts_check_now").click().run()
    assert not at.exception, at.exception
    shown = [e.value for kind in (at.error, at.warning, at.success, at.markdown, at.caption) for e in kind]
    shown += [frame.value.to_csv() for frame in at.dataframe]
    assert_no_marker("\n".join(str(s) for s in shown))
