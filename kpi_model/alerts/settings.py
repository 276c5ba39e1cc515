"""The workspace's alert settings (``alerts:`` and ``app_url``) as text to edit in the app."""

from __future__ import annotations

from typing import Any

import yaml

from kpi_model import workspace_file
from kpi_model.errors import Problem, WorkspaceError
from kpi_model.models import Workspace
from kpi_model.validation import parse_workspace

SETTING_KEYS = ("alerts", "app_url")
SOURCE = "The alert settings"


def settings_text(workspace: Workspace) -> str:
    """The workspace's ``alerts:`` block and ``app_url`` as YAML, in the file's own layout."""
    data = workspace_file.to_data(workspace)
    settings: dict[str, Any] = {"alerts": data.get("alerts", [])}
    if "app_url" in data:
        settings["app_url"] = data["app_url"]
    return yaml.safe_dump(settings, sort_keys=False, allow_unicode=True, width=100)


def with_settings(workspace: Workspace, text: str) -> Workspace:
    """``workspace`` with the ``alerts:`` and ``app_url`` written in ``text``, validated as the file is.

    Raises :class:`WorkspaceError` naming each problem (by its path, e.g. ``alerts[0].smtp.from``);
    secrets are refused as in the file: only the names of environment variables may be written.
    """
    given = workspace_file.decode(text, "yaml", source=SOURCE)
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise WorkspaceError(
            [Problem("(text)", "write keys, not a list or a value: start with 'alerts:' (and 'app_url:' if needed)")],
            source=SOURCE,
        )
    others = sorted(str(key) for key in given if key not in SETTING_KEYS)
    if others:
        raise WorkspaceError(
            [
                Problem(key, "only alerts and app_url are set here: edit the rest of the workspace on its own pages")
                for key in others
            ],
            source=SOURCE,
        )
    data = workspace_file.to_data(workspace)
    for key in SETTING_KEYS:
        data.pop(key, None)
        if given.get(key) is not None:
            data[key] = given[key]
    return parse_workspace(data, source=SOURCE)
