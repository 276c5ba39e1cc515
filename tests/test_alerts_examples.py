"""Every documented `alerts:` example loads as written (YAML 1.1 reads a bare `on` key as true).

The examples are taken from the files themselves, so the docs and the code cannot drift apart.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kpi_model import workspace_file
from kpi_model.alerts import state_path_for
from kpi_model.cli import main
from kpi_model.models import AlertOn
from ui.alert_views import EXAMPLE

from .conftest import REPO, SAMPLE_WORKSPACE
from .test_alerts_check import OFF_TRACK, TODAY

DOCUMENTS = ("README.md", "docs/alerts.md", "docs/workspace.md")
_YAML_BLOCK = re.compile(r"```ya?ml\n(.*?)```", re.DOTALL)


def alert_examples() -> dict[str, str]:
    """Each YAML block that declares `alerts:`, by where it is; the Alerts page's example too."""
    examples = {"the Alerts page": EXAMPLE}
    for name in DOCUMENTS:
        blocks = [b for b in _YAML_BLOCK.findall((REPO / name).read_text()) if re.search(r"^alerts:", b, re.M)]
        examples |= {f"{name} #{i + 1}": block for i, block in enumerate(blocks)}
    return examples


EXAMPLES = alert_examples()


def test_every_document_has_an_alerts_example():
    assert {name.split(" #")[0] for name in EXAMPLES} == {"the Alerts page", *DOCUMENTS}


def alert_keys(text: str) -> str:
    """The example's `alerts:` and `app_url:` sections as written (it may show part of a KPI beside them)."""
    sections = re.split(r"\n(?=\S)", text)
    return "\n".join(s for s in sections if s.startswith(("alerts:", "app_url:")))


@pytest.mark.parametrize("text", EXAMPLES.values(), ids=EXAMPLES.keys())
def test_the_example_loads_as_written(text):
    workspace = workspace_file.loads(f"format_version: 1\nname: Example\n{alert_keys(text)}\n")
    assert len(workspace.alerts) == text.count("channel:"), "every channel was read"
    assert all(channel.on for channel in workspace.alerts)


def test_on_written_quoted_or_bare_means_the_same():
    bare = workspace_file.loads(
        "format_version: 1\nname: E\nalerts:\n  - {channel: webhook, url_env: X_URL, on: [amber]}\n"
    )
    quoted = workspace_file.loads(
        "format_version: 1\nname: E\nalerts:\n  - {channel: webhook, url_env: X_URL, 'on': [amber]}\n"
    )
    assert bare.alerts == quoted.alerts and bare.alerts[0].on == [AlertOn.AMBER]


def test_a_saved_workspace_reads_back_its_on_lists(tmp_path: Path):
    text = "format_version: 1\nname: E\nalerts:\n  - {channel: webhook, url_env: X_URL, on: [amber, recovered]}\n"
    path = tmp_path / "w.yaml"
    workspace_file.save(workspace_file.loads(text), path)
    assert workspace_file.load(path).alerts[0].on == [AlertOn.AMBER, AlertOn.RECOVERED]


def test_the_samples_channels_stay_on_this_machine_and_a_dry_run_lists_the_kpis_off_track(capsys):
    sample = workspace_file.load(SAMPLE_WORKSPACE)
    assert sample.alerts, "the sample shows what a channel looks like"
    for channel in sample.alerts:
        host = channel.smtp.host if channel.smtp else urlsplit(channel.url or "").hostname
        assert host in {"localhost", "127.0.0.1", "::1"}, "out of the box, nothing leaves the machine"
    had_state = state_path_for(SAMPLE_WORKSPACE).exists()
    assert main(["check", str(SAMPLE_WORKSPACE), "--as-of", TODAY, "--dry-run", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    would = {kpi for message in document["messages"] for kpi in message["kpis"]}
    assert would == OFF_TRACK and all(m["error"] is None for m in document["messages"])
    amber = {r["kpi_id"] for r in document["kpis"] if r["status"] == "amber"}
    assert would == amber, "every KPI entering amber would alert, and no other"
    assert state_path_for(SAMPLE_WORKSPACE).exists() == had_state, "a dry run writes no state beside the sample"
