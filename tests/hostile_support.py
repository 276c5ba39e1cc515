"""Shared checks for the hostile-input tests: nothing outside the workspace is read or written.

A :class:`Canary` plants, beside the workspace under test, a secret file and a second
workspace whose database holds the same secret. A hostile case passes only if, afterwards,
both are byte-for-byte as planted, no new file appeared outside the workspace folder, and the
secret appears in no message, output or result the case produced.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

# Words that show a message tells the user what to do, not only what went wrong.
FIX_WORDS = (
    "use ",
    "write ",
    "remove ",
    "split ",
    "save ",
    "load ",
    "upload ",
    "export ",
    "keep ",
    "check ",
    "fix ",
    "give ",
    "read ",
    "name ",
    "drop ",
    "pick ",
    "try ",
    "open ",
    "reload ",
    "simplify",
    "narrow",
    "shorten",
    "convert",
    "replace",
    "delete",
    "did you mean",
    "fix:",
)


def names_a_fix(message: str) -> bool:
    """Whether an error message says what to do about it (one of the project's fix phrasings)."""
    lowered = message.lower()
    return any(word in lowered for word in FIX_WORDS)


def _tree_state(folder: Path) -> dict[str, str]:
    state = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            state[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


@dataclass
class Canary:
    """A secret file and a second workspace planted next to the workspace a hostile case runs in."""

    root: Path
    token: str = field(default_factory=lambda: f"KPIW-CANARY-{secrets.token_hex(8)}")

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.secret_file = self.root / "secret.csv"
        self.secret_file.write_text(f"password\n{self.token}\n", encoding="utf-8")
        self.other_workspace = self.root / "other-workspace"
        self.other_workspace.mkdir()
        with duckdb.connect(str(self.other_workspace / "data.duckdb")) as connection:
            connection.execute("CREATE TABLE secret_table AS SELECT ? AS password", [self.token])
            connection.execute("CHECKPOINT")
        self._before = _tree_state(self.root)

    @property
    def paths(self) -> list[str]:
        """Paths an attacker would aim at: the secret file and the other workspace's database."""
        return [str(self.secret_file), str(self.other_workspace / "data.duckdb")]

    def assert_untouched(self, *outputs: object) -> None:
        """The planted files are unchanged, nothing new appeared beside them, and no output leaks the secret."""
        assert _tree_state(self.root) == self._before, "a file outside the workspace was written or removed"
        for output in outputs:
            assert self.token not in str(output), "the secret outside the workspace reached the user"
