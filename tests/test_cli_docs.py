"""Every command and option of ``kpi-wizard`` has help text and is in the README's "Command line" section."""

from __future__ import annotations

import argparse
import re

from kpi_model.cli import build_parser

from .conftest import REPO


def commands(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, tuple[argparse.ArgumentParser, str]]:
    """``{"export dbt": (parser, help), ...}``: every command that runs, nested ones by their full name."""
    found = {}
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
        for name, sub in action.choices.items():
            full = f"{prefix}{name}"
            nested = commands(sub, f"{full} ")
            found.update(nested or {full: (sub, helps.get(name, ""))})
    return found


def arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The arguments a person can give (not ``--help``, not the hidden ones)."""
    return [
        action
        for action in parser._actions
        if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction))
        and action.help != argparse.SUPPRESS
    ]


def command_line_section() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Command line\n", 1)[1]
    return section.split("\n## ", 1)[0]


def usage(section: str, command: str) -> str:
    """The README's usage lines of ``kpi-wizard COMMAND``: its first line and the indented lines under it."""
    lines = section.splitlines()
    start = [i for i, line in enumerate(lines) if re.match(rf"kpi-wizard {re.escape(command)}(\s|$)", line)]
    assert start, f"`kpi-wizard {command}` is not in README.md's Command line section"
    block = [lines[start[0]]]
    for line in lines[start[0] + 1 :]:
        if not line.startswith(" ") or not line.strip():
            break
        block.append(line)
    return "\n".join(block)


def test_the_parser_is_read_whole():
    found = commands(build_parser())
    assert {"compute", "export dbt", "check", "unbundle"} <= set(found)
    assert "export" not in found, "a command with sub-commands is documented by its sub-commands"
    assert "--differenced" not in {o for a in arguments(found["leadlag"][0]) for o in a.option_strings}


def test_every_command_and_argument_has_help_text():
    missing = [
        f"{name} {action.option_strings[-1] if action.option_strings else action.dest}"
        for name, (parser, _) in commands(build_parser()).items()
        for action in arguments(parser)
        if not (action.help or "").strip()
    ]
    assert missing == []
    assert [name for name, (_, help_text) in commands(build_parser()).items() if not help_text.strip()] == []


def test_every_command_and_option_is_in_the_readme():
    section = command_line_section()
    missing = []
    for name, (parser, _) in commands(build_parser()).items():
        shown = usage(section, name)
        for action in arguments(parser):
            if action.option_strings:
                if not any(re.search(rf"{re.escape(o)}\b", shown) for o in action.option_strings):
                    missing.append(f"{name} {action.option_strings[-1]}")
            elif (action.metavar or action.dest).upper() not in shown.upper():
                missing.append(f"{name} {action.dest}")
    assert missing == [], "add these to README.md's Command line section"
