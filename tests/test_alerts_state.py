"""A hostile or broken state file cannot hang a check, fill its memory, or make it read or write another file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kpi_model.alerts import state_path_for
from kpi_model.cli import main

from .alert_receivers import webhook_receiver
from .test_alerts_check import TODAY, write_workspace


@pytest.fixture
def workspace(tmp_path):
    with webhook_receiver() as hook:
        yield write_workspace(tmp_path / "ws", 9, alerts=[{"channel": "webhook", "url": hook.url, "on": ["amber"]}])


def check(path: Path) -> int:
    return main(["check", str(path), "--as-of", TODAY, "--fail-on", "never"])


@pytest.mark.parametrize("kind", ["fifo", "dev_zero", "link_to_a_file", "too_large"])
def test_a_state_file_that_is_not_one_is_reported_and_moved_aside(workspace, tmp_path, capsys, kind):
    state = state_path_for(workspace)
    victim = tmp_path / "victim.json"
    victim.write_text('{"version": 1, "statuses": {}}')
    if kind == "fifo":
        os.mkfifo(state)  # opening it to read would wait for a writer forever
    elif kind == "dev_zero":
        state.symlink_to("/dev/zero")  # endless zeros
    elif kind == "link_to_a_file":
        state.symlink_to(victim)
    else:
        with state.open("wb") as big:
            big.truncate(9 * 1024**2)
    assert check(workspace) == 0
    err = capsys.readouterr().err
    assert "could not be read" in err and "moved to" in err, err
    (aside,) = state.parent.glob(f"{state.name}.unreadable-*")
    assert state.is_file() and not state.is_symlink(), "a new state file was written in its place"
    assert victim.read_text() == '{"version": 1, "statuses": {}}', "the linked file is neither read nor written"
    assert aside.is_symlink() or aside.exists()


def test_a_lock_file_planted_as_a_link_is_refused_and_nothing_is_created(workspace, tmp_path, capsys):
    target = tmp_path / "created-by-the-check"
    lock = state_path_for(workspace).with_name(state_path_for(workspace).name + ".lock")
    lock.symlink_to(target)
    assert check(workspace) == 2
    assert "lock file" in capsys.readouterr().err
    assert not target.exists()
