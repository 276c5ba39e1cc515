"""The Alerts page in-process (AppTest): channels with a test alert, the log, review dates, a new cycle."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kpi_model import workspace_file
from kpi_model.engine import Engine
from kpi_model.store import WorkspaceStore

from .alert_receivers import webhook_receiver
from .conftest import REPO, SAMPLE_WORKSPACE


def sample_with_alerts(folder: Path, alerts: list[dict]) -> Path:
    """The sample workspace with these channels, a copy of its data beside it (the app refuses links out)."""
    data = workspace_file.to_data(workspace_file.load(SAMPLE_WORKSPACE))
    data["alerts"] = alerts
    folder.mkdir(parents=True)
    shutil.copytree(SAMPLE_WORKSPACE.parent / "data", folder / "data")
    path = folder / "workspace.yaml"
    workspace_file.save(workspace_file.loads(json.dumps(data), "json"), path)
    return path


def table(at: AppTest, column: str):
    """The table (dataframe or data editor) on the page that has this column."""
    return next(frame.value for frame in at.dataframe if column in frame.value.columns)


def alerts_page(monkeypatch, store: Path, workspace: Path) -> AppTest:
    monkeypatch.setenv("KPI_WIZARD_HOME", str(store))
    monkeypatch.setenv("KPI_WIZARD_OPEN", str(workspace))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("pages/alerts.py").run()
    assert not at.exception, at.exception
    return at


def test_without_channels_the_page_shows_how_to_add_them_and_the_review_dates(tmp_path, monkeypatch):
    at = alerts_page(monkeypatch, tmp_path / "store", sample_with_alerts(tmp_path / "ws", []))
    assert "No alert channels yet" in at.info[0].value
    assert "channel: webhook" in at.code[0].value
    assert any("Due for review: Customer satisfaction" in w.value for w in at.warning)
    reviews = table(at, "Next review")
    assert reviews.iloc[0]["Due"] == "due" and reviews.iloc[0]["Next review"] == "2026-04-30"
    assert len(reviews) == 20


def test_the_samples_channel_is_shown_and_sends_nothing_until_the_operator_allows_its_host(tmp_path, monkeypatch):
    monkeypatch.delenv("KPI_WIZARD_ALERT_HOSTS", raising=False)
    at = alerts_page(monkeypatch, tmp_path / "store", SAMPLE_WORKSPACE)
    assert "webhook localhost" in at.markdown[0].value.replace("\\", "")
    assert any("KPI_WIZARD_ALERT_HOSTS" in w.value for w in at.warning)
    at.button(key="alerts_test_0").click().run()
    assert not at.exception, at.exception
    assert "localhost:8765 is not one" in at.error[0].value.replace("\\", "")


def test_a_webhook_address_written_in_the_file_gets_a_hint_to_move_it_to_the_environment(tmp_path, monkeypatch):
    channels = [
        {"channel": "webhook", "url": "https://hooks.slack.com/services/T0/B0/S3CRET"},
        {"channel": "webhook", "url": "http://localhost:8765/kpi-alerts"},
        {"channel": "webhook", "url_env": "KPI_WIZARD_SLACK_URL"},
    ]
    at = alerts_page(monkeypatch, tmp_path / "store", sample_with_alerts(tmp_path / "ws", channels))
    hints = [c.value for c in at.caption if "url_env" in c.value and "written in the workspace file" in c.value]
    assert len(hints) == 1, "only the address off this machine written in the file"
    shown = " ".join(m.value for m in [*at.markdown, *at.caption])
    assert "hooks.slack.com" in shown.replace("\\", "") and "S3CRET" not in shown, "named by its host only"


def test_send_a_test_alert_reaches_the_webhook_and_is_logged(tmp_path, monkeypatch):
    with webhook_receiver() as hook:
        monkeypatch.setenv("KPI_WIZARD_ALERT_HOSTS", f"127.0.0.1:{hook.port}")  # not a standard port: listed
        workspace = sample_with_alerts(
            tmp_path / "ws", [{"channel": "webhook", "url_env": "KPI_WIZARD_TEST_HOOK", "on": ["red"]}]
        )
        monkeypatch.setenv("KPI_WIZARD_TEST_HOOK", f"{hook.url}/T0KEN-secret")
        at = alerts_page(monkeypatch, tmp_path / "store", workspace)
        assert "webhook from $KPI_WIZARD_TEST_HOOK" in at.markdown[0].value.replace("\\", "")
        at.button(key="alerts_test_0").click().run()
        assert not at.exception, at.exception
    assert [p["kpi_wizard"]["kind"] for p in hook.posts] == ["test"]
    assert at.success[0].value.startswith("Test alert sent")
    log = table(at, "Outcome")
    assert list(log["Outcome"]) == ["sent"] and list(log["Kind"]) == ["test"]
    assert "T0KEN-secret" not in log.to_csv()


def test_check_now_alerts_once_on_the_kpis_off_track(tmp_path, monkeypatch):
    with webhook_receiver() as hook:
        monkeypatch.setenv("KPI_WIZARD_ALERT_HOSTS", f"127.0.0.1:{hook.port}")  # not a standard port: listed
        workspace = sample_with_alerts(tmp_path / "ws", [{"channel": "webhook", "url": hook.url, "on": ["amber"]}])
        at = alerts_page(monkeypatch, tmp_path / "store", workspace)
        at.button(key="alerts_check_now").click().run()
        assert not at.exception, at.exception
        statuses = table(at, "Change since last check")
        assert set(statuses.loc[statuses["Status"] == "amber", "KPI"]) == {
            "Web order revenue",
            "B2B deals won",
            "B2B win rate",
        }
        assert any("3 alerts sent" in s.value for s in at.success)
        at.button(key="alerts_check_now").click().run()
        assert any("0 alerts sent" in s.value for s in at.success), "no change: nothing is news"
    assert len(hook.posts) == 3
    assert set(table(at, "Outcome")["Outcome"]) == {"sent"}


def computations(monkeypatch) -> Counter[str]:
    """Counts, by KPI id, what the engine is asked to compute from now on (a cached answer counts too)."""
    asked: Counter[str] = Counter()
    compute = Engine.compute

    def counted(self, workspace, kpi_id, request=None):
        asked[kpi_id] += 1
        return compute(self, workspace, kpi_id, request)

    monkeypatch.setattr(Engine, "compute", counted)
    return asked


@pytest.mark.parametrize("button", ["alerts_check_now", "alerts_start_cycle"])
def test_each_action_computes_every_kpi_once_per_run(tmp_path, monkeypatch, button):
    with webhook_receiver() as hook:
        monkeypatch.setenv("KPI_WIZARD_ALERT_HOSTS", f"127.0.0.1:{hook.port}")
        workspace = sample_with_alerts(tmp_path / "ws", [{"channel": "webhook", "url": hook.url, "on": ["amber"]}])
        at = alerts_page(monkeypatch, tmp_path / "store", workspace)
        asked = computations(monkeypatch)
        at.run()
        assert not asked, "showing the page computes nothing: only its buttons do"
        at.button(key=button).click().run()
        assert not at.exception, at.exception
    with_formula = {k.id for k in workspace_file.load(workspace).kpis if k.expression}
    assert set(asked) == with_formula and set(asked.values()) == {1}, f"computed more than once: {asked}"


def test_a_host_the_operator_did_not_allow_is_refused_with_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("KPI_WIZARD_ALERT_HOSTS", raising=False)
    workspace = sample_with_alerts(tmp_path / "ws", [{"channel": "webhook", "url": "http://169.254.169.254/x"}])
    at = alerts_page(monkeypatch, tmp_path / "store", workspace)
    assert any("KPI_WIZARD_ALERT_HOSTS" in w.value for w in at.warning)
    at.button(key="alerts_test_0").click().run()
    assert "ask the operator to add it" in at.error[0].value


def test_start_a_new_cycle_keeps_old_baselines_in_history_and_asks_for_targets(tmp_path, monkeypatch):
    at = alerts_page(monkeypatch, tmp_path / "store", SAMPLE_WORKSPACE)
    at.button(key="alerts_start_cycle").click().run()
    assert not at.exception, at.exception
    assert any("New cycle started" in s.value for s in at.success)
    store = WorkspaceStore(tmp_path / "store")
    (workspace_id,) = store.ids()
    versions = store.versions(workspace_id)
    assert [v.note for v in versions][:2] == [
        "New review cycle: 19 baselines from the latest complete periods",
        "Before the new review cycle",
    ]
    old = store.load_version(workspace_id, versions[1].id).kpi("web_revenue")
    new = store.load(workspace_id).kpi("web_revenue")
    assert old is not None and new is not None and old.baseline != new.baseline
    assert new.baseline is not None and new.baseline.period == "2026-10"
    assert not any(w.value.startswith("Due for review") for w in at.warning), "reviewed today"

    targets = table(at, "New baseline")
    assert len(targets) == 19 and "web_revenue" in set(targets["id"]), "the targets to set anew"
    at.button(key="alerts_save_targets").click().run()
    assert not at.exception, at.exception
    assert any("New targets saved" in s.value for s in at.success)


@pytest.mark.parametrize("page", ["pages/alerts.py"])
def test_alerts_page_is_in_the_navigation(page):
    assert page in (REPO / "app.py").read_text()


def test_check_now_without_channels_names_the_kpis_that_would_alert_and_remembers_nothing(tmp_path, monkeypatch):
    at = alerts_page(monkeypatch, tmp_path / "store", sample_with_alerts(tmp_path / "ws", []))
    at.button(key="alerts_check_now").click().run()
    assert not at.exception, at.exception
    statuses = table(at, "Change since last check")
    off_track = statuses.loc[statuses["Status"].isin(["amber", "red"]), "KPI"]
    said = next(w.value for w in at.warning if "no channel to send to" in w.value).replace("\\", "")
    assert f"{len(off_track)} KPIs would alert now" in said
    assert all(name in said for name in off_track) and "(amber)" in said
    assert not any("alerts sent" in s.value for s in at.success)
    with webhook_receiver() as hook:  # the first check with a channel still alerts on them
        monkeypatch.setenv("KPI_WIZARD_ALERT_HOSTS", f"127.0.0.1:{hook.port}")
        channel = f"alerts:\n  - {{channel: webhook, url: '{hook.url}', on: [amber]}}\n"
        at.text_area(key="alerts_settings").input(channel)
        at.button(key="alerts_save_settings").click().run()
        at.button(key="alerts_check_now").click().run()
        assert not at.exception, at.exception
    amber = set(statuses.loc[statuses["Status"] == "amber", "KPI"])
    assert {p["kpi_wizard"]["alerts"][0]["name"] for p in hook.posts} == amber
