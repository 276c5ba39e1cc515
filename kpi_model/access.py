"""Who may open a stored workspace when one server serves a team.

The operator who starts the server chooses the mode:

- ``local`` (the default, what ``make run`` starts): one person on their own machine. Every stored
  workspace is theirs, and the server listens on this machine only.
- ``team``: every workspace is private. It opens with its link, which carries a per-workspace
  secret (``?ws=<id>&key=<secret>``), or for its owner when the operator configured login
  (Streamlit's OIDC ``st.login``). A workspace is listed only to its owner (or in the browser
  session that holds its link); deleting it and restoring a version need the same access as
  opening it.

Only a salted hash of the secret is kept, in ``<workspace>/access.json``; the link is the one copy
of the secret. A workspace saved before team mode was switched on has no such file and opens for
nobody until the operator gives it a link (``kpi-wizard link``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from kpi_model.errors import KpiWizardError
from kpi_model.store import is_valid_id

AccessMode = Literal["local", "team"]
ACCESS_MODES: tuple[AccessMode, ...] = ("local", "team")
ACCESS_FILE = "access.json"
MODE_VARIABLE = "KPI_WIZARD_ACCESS"
# 32 random bytes: a link cannot be guessed, and the hash compare takes the same time whatever matches.
KEY_BYTES = 32


class AccessError(KpiWizardError):
    """A visitor asked for a workspace they have no access to (the message never says whether it exists)."""


NO_ACCESS = (
    "this link does not open a workspace here: it is incomplete, or the workspace was deleted. "
    "Ask its owner for the full link (it ends in '&key=…'), or log in as its owner"
)


@dataclass(frozen=True)
class AccessRecord:
    """Who may open one workspace: its owner (a login e-mail, if any) and the hash of its link's secret."""

    owner: str | None
    salt: str
    key_hash: str


def mode_from_environment() -> AccessMode:
    """The server's access mode from ``$KPI_WIZARD_ACCESS`` (``local`` when unset)."""
    value = (os.environ.get(MODE_VARIABLE) or "local").strip().lower()
    if value not in ACCESS_MODES:
        raise AccessError(f"{MODE_VARIABLE}='{value}' is not an access mode; use one of: {', '.join(ACCESS_MODES)}")
    return cast(AccessMode, value)


def _digest(salt: str, key: str) -> str:
    return hashlib.sha256(f"{salt}:{key}".encode()).hexdigest()


class AccessControl:
    """Access records of the workspaces under one store root."""

    def __init__(self, root: str | Path, mode: AccessMode = "local") -> None:
        if mode not in ACCESS_MODES:
            raise AccessError(f"'{mode}' is not an access mode; use one of: {', '.join(ACCESS_MODES)}")
        self.root = Path(root)
        self.mode: AccessMode = mode

    @property
    def is_private(self) -> bool:
        """Whether workspaces are private to their owner and link (team mode)."""
        return self.mode == "team"

    def _file(self, workspace_id: str) -> Path:
        if not is_valid_id(workspace_id):
            raise AccessError(NO_ACCESS)
        return self.root / workspace_id / ACCESS_FILE

    def record(self, workspace_id: str) -> AccessRecord | None:
        """The access record of a workspace, or None when it has none (or it cannot be read)."""
        try:
            data = json.loads(self._file(workspace_id).read_text(encoding="utf-8"))
            return AccessRecord(data.get("owner"), str(data["salt"]), str(data["key_hash"]))
        except (AccessError, OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def grant(self, workspace_id: str, *, owner: str | None = None) -> str:
        """Give a workspace a new link secret (replacing any earlier one) and return it."""
        file = self._file(workspace_id)
        key = secrets.token_urlsafe(KEY_BYTES)
        salt = secrets.token_hex(16)
        keep_owner = owner if owner is not None else (self.record(workspace_id) or AccessRecord(None, "", "")).owner
        payload = json.dumps({"owner": keep_owner, "salt": salt, "key_hash": _digest(salt, key)}, indent=2)
        file.parent.mkdir(parents=True, exist_ok=True)
        temporary = file.with_name(f".{ACCESS_FILE}.{secrets.token_hex(6)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                stream.write(payload + "\n")
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, file)
        finally:
            temporary.unlink(missing_ok=True)
        return key

    def allows(self, workspace_id: str, *, key: str | None = None, user: str | None = None) -> bool:
        """Whether a visitor holding ``key`` (from the link) or logged in as ``user`` may open the workspace."""
        if not is_valid_id(workspace_id):
            return False
        if not self.is_private:
            return True
        found = self.record(workspace_id)
        if found is None:
            return False
        if user and found.owner and hmac.compare_digest(user.casefold(), found.owner.casefold()):
            return True
        return bool(key) and hmac.compare_digest(_digest(found.salt, key or ""), found.key_hash)

    def require(self, workspace_id: str, *, key: str | None = None, user: str | None = None) -> None:
        """Raise :class:`AccessError` unless :meth:`allows`."""
        if not self.allows(workspace_id, key=key, user=user):
            raise AccessError(NO_ACCESS)

    def visible(self, workspace_ids: list[str], *, keys: dict[str, str], user: str | None = None) -> list[str]:
        """Of ``workspace_ids``, those this visitor may see listed: all in local mode; their own in team mode."""
        if not self.is_private:
            return list(workspace_ids)
        return [i for i in workspace_ids if self.allows(i, key=keys.get(i), user=user)]
