"""Read YAML and JSON documents from users under limits, in one place.

Every workspace, dbt file, mapping file or template the app or CLI reads goes through
here, so a hostile document is refused with a message, never a crash or a hang:

- its size (``max_bytes``) is checked before it is parsed, for a file before it is read;
- its nesting depth is checked on the YAML event stream (``yaml.parse`` is iterative) or on
  a bracket scan of the JSON text, before anything recursive (composer, ``json.loads``,
  pydantic, ``str()``) sees it;
- YAML aliases are refused (workspaces) or, where files legitimately use anchors (dbt),
  the *expanded* size, depth and text of the composed graph are counted iteratively and
  bounded, so a "billion laughs" file is refused in milliseconds and never expanded;
- duplicate keys are refused unless the reader allows them.

Refusals raise :class:`DocumentError`; callers turn it into their own error type.
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any

import yaml

from kpi_model.errors import KpiWizardError

MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 100_000
MAX_EXPANDED_CHARACTERS = 10_000_000

# libyaml's parser when it is installed (10-20x faster); PyYAML's own otherwise. Both are iterative.
_BaseSafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DocumentError(KpiWizardError):
    """A document refused by a limit or a syntax error; ``problem`` says what and how to fix it.

    ``syntax`` is true for plain YAML/JSON syntax errors, whose ``problem`` is the parser's
    own words (callers add their advice); limit refusals carry the whole message.
    """

    def __init__(self, problem: str, *, line: int | None = None, column: int | None = None, syntax: bool = False):
        self.line = line
        self.column = column
        self.syntax = syntax
        super().__init__(f"{self.where}: {problem}" if line else problem)
        self.problem = problem  # without the place, which ``where`` gives apart

    @property
    def where(self) -> str:
        """``line 3, column 5`` (1-based), or ``(document)`` when no place applies."""
        if self.line is None:
            return "(document)"
        return f"line {self.line}, column {self.column}" if self.column else f"line {self.line}"


@dataclass(frozen=True)
class Limits:
    """What a reader accepts, and the words its refusals use.

    ``what`` names the document ("a workspace"); ``hint`` says what shape it should have and
    what to check (it ends a depth refusal), ``size_hint`` the same for a size refusal.
    """

    what: str = "a document"
    hint: str = "check that this is the file you meant"
    size_hint: str = "check that this is the file you meant"
    max_bytes: int = MAX_BYTES
    max_depth: int = MAX_DEPTH
    aliases: bool = False
    max_expanded_nodes: int = MAX_EXPANDED_NODES
    max_expanded_characters: int = MAX_EXPANDED_CHARACTERS
    duplicate_keys: bool = False


class SafeLoader(_BaseSafeLoader):  # type: ignore[valid-type,misc]
    """The safe loader documents are composed with (libyaml when available); base for readers' loaders."""


class StrictLoader(SafeLoader):
    """Safe loader that refuses a key given twice in one mapping (one value would be lost silently)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the base class refuses it with its line
                continue
            if repeated:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key '{key}' appears twice in the same mapping; keep one", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:g} MB"


def _check_text_size(text: str, limits: Limits) -> None:
    # A character is at least one byte, so a text longer than the limit is refused without encoding it.
    _check_size(len(text) if len(text) > limits.max_bytes else len(text.encode("utf-8", "surrogatepass")), limits)


def _check_size(size: int, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise DocumentError(f"larger than {_megabytes(limits.max_bytes)}; {limits.size_hint}")


def _too_deep(limits: Limits, line: int | None = None, column: int | None = None) -> DocumentError:
    return DocumentError(f"nested deeper than {limits.max_depth} levels; {limits.hint}", line=line, column=column)


def _place(mark: Any) -> tuple[int | None, int | None]:
    """(line, column), 1-based, of a YAML mark; (None, None) without one."""
    return (mark.line + 1, mark.column + 1) if mark is not None else (None, None)


def read_text(path: str | Path, limits: Limits) -> str:
    """The UTF-8 text of a file (a BOM is dropped), its size checked before it is read.

    Raises :class:`DocumentError` when it is too large or not UTF-8, and ``OSError`` when it
    cannot be read (callers word that with the path they know).
    """
    file = Path(path)
    status = file.stat()
    if not stat.S_ISREG(status.st_mode):  # /dev/zero has size 0 and never ends; a pipe blocks the read
        raise DocumentError("not a regular file (a device, a pipe or a socket); give a file")
    _check_size(status.st_size, limits)
    raw = file.read_bytes()
    _check_size(len(raw), limits)  # it may have grown in between
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError(
            f"not UTF-8 text (byte {error.object[error.start]:#04x} at position {error.start}); "
            "save the file as UTF-8 text"
        ) from None


# --- YAML ---------------------------------------------------------------------------------


def _syntax_error(error: yaml.YAMLError, text: str) -> DocumentError:
    line, column = _place(getattr(error, "problem_mark", None) or getattr(error, "context_mark", None))
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if isinstance(error, yaml.reader.ReaderError):  # a character YAML does not allow, such as NUL
        line = text.count("\n", 0, error.position) + 1
        column = error.position - text.rfind("\n", 0, error.position)
        code = f" (character {error.character:#06x})" if isinstance(error.character, int) else ""
        problem = f"{error.reason}{code}; remove it"
    return DocumentError(str(problem), line=line, column=column, syntax=True)


def _unreadable_value(error: ValueError) -> DocumentError:
    if "digits" in str(error):  # Python refuses to convert integers of more than 4,300 digits
        return DocumentError("a number has more than 4,300 digits; shorten it, or put it in quotes if it is text")
    return DocumentError(f"a value cannot be read ({error}); shorten it, or put it in quotes if it is text")


def _scan_events(text: str, limits: Limits) -> bool:
    """Check nesting depth (and aliases, if refused) on the event stream; whether any alias occurs."""
    depth = 0
    saw_alias = False
    for event in yaml.parse(text, Loader=SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > limits.max_depth:
                raise _too_deep(limits, *_place(event.start_mark))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            if not limits.aliases:
                line, column = _place(event.start_mark)
                raise DocumentError(
                    f"YAML aliases (*name) are not allowed in {limits.what}; write the value out",
                    line=line,
                    column=column,
                )
            saw_alias = True
    return saw_alias


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, yaml.SequenceNode):
        yield from node.value


def _check_expansion(roots: Iterable[yaml.Node], limits: Limits) -> None:
    """Refuse a composed graph whose aliases expand past the limits, without expanding it.

    Each node's expanded (count, characters, depth) is computed once, children first, with an
    explicit stack; an alias is a shared node, so this is linear in the written document.
    """
    sizes: dict[int, tuple[int, int, int]] = {}
    total_nodes = total_characters = 0
    for root in roots:
        stack: list[tuple[yaml.Node, bool]] = [(root, False)]
        open_nodes: set[int] = set()
        while stack:
            node, finished = stack.pop()
            key = id(node)
            if finished:
                open_nodes.discard(key)
                count, characters, depth = 1, len(node.value) if isinstance(node, yaml.ScalarNode) else 0, 0
                for child in _children(node):
                    child_count, child_characters, child_depth = sizes[id(child)]
                    count += child_count
                    characters += child_characters
                    depth = max(depth, child_depth)
                    if count > limits.max_expanded_nodes or characters > limits.max_expanded_characters:
                        break
                depth += 0 if isinstance(node, yaml.ScalarNode) else 1
                _check_expanded(node, count, characters, depth, limits)
                sizes[key] = (count, characters, depth)
                continue
            if key in sizes:
                continue
            if key in open_nodes:
                raise DocumentError(
                    "an alias (*name) refers to the mapping or list that contains it, so it never ends; "
                    "write the value out instead",
                    line=node.start_mark.line + 1,
                )
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
        count, characters, _ = sizes[id(root)]
        total_nodes += count
        total_characters += characters
        _check_expanded(root, total_nodes, total_characters, 0, limits)


def _check_expanded(node: yaml.Node, count: int, characters: int, depth: int, limits: Limits) -> None:
    line = node.start_mark.line + 1
    fix = "write the repeated parts out, or split the file"
    if count > limits.max_expanded_nodes:
        raise DocumentError(
            f"its aliases (*name) expand to more than {limits.max_expanded_nodes:,} values; {fix}", line=line
        )
    if characters > limits.max_expanded_characters:
        raise DocumentError(
            f"its aliases (*name) expand to more than {limits.max_expanded_characters:,} characters of text; {fix}",
            line=line,
        )
    if depth > limits.max_depth:
        raise DocumentError(
            f"its aliases (*name) nest values deeper than {limits.max_depth} levels; {limits.hint}", line=line
        )


def _compose_all(loader: yaml.SafeLoader) -> list[yaml.Node]:
    nodes = []
    while loader.check_node():
        node = loader.get_node()
        if node is not None:
            nodes.append(node)
    return nodes


def load_yaml_all(text: str, limits: Limits, *, loader: type[SafeLoader] | None = None) -> list[Any]:
    """Every document of a YAML stream, checked against ``limits`` before it is built.

    ``loader`` (a :class:`SafeLoader` subclass) builds the values; by default duplicate keys are
    refused (:class:`StrictLoader`) unless ``limits.duplicate_keys`` allows them.
    """
    _check_text_size(text, limits)
    chosen = loader or (SafeLoader if limits.duplicate_keys else StrictLoader)
    try:
        saw_alias = _scan_events(text, limits)
        instance = chosen(text)
        try:
            nodes = _compose_all(instance)
            if saw_alias:
                _check_expansion(nodes, limits)
            return [instance.construct_document(node) for node in nodes]
        finally:
            instance.dispose()
    except yaml.YAMLError as error:
        raise _syntax_error(error, text) from None
    except ValueError as error:  # e.g. an integer with thousands of digits
        raise _unreadable_value(error) from None


def load_yaml(text: str, limits: Limits, *, loader: type[SafeLoader] | None = None) -> Any:
    """The single document of a YAML text (``None`` when empty), checked against ``limits``.

    Raises :class:`DocumentError` for a limit, a syntax error or a second document.
    """
    documents = load_yaml_all(text, limits, loader=loader)
    if len(documents) > 1:
        raise DocumentError(
            f"holds {len(documents)} YAML documents (separated by '---'); {limits.what} is one: "
            "remove the extra '---' lines"
        )
    return documents[0] if documents else None


def load_data_file(text: str, limits: Limits, *, filename: str, error: type[Exception]) -> Any:
    """:func:`load_yaml` for a data file of the package (templates, catalogues): a problem is raised as
    ``error``, its message starting with ``filename``."""
    try:
        return load_yaml(text, limits)
    except DocumentError as problem:
        raise error(f"{filename}: {'not valid YAML: ' if problem.syntax else ''}{problem}") from None


def yaml_top_level_keys(text: str, limits: Limits) -> set[str]:
    """The keys of the first YAML document's top-level mapping, read from events (nothing is built).

    Meant to tell kinds of documents apart from their first part: reading stops at the end of the
    first document, at a syntax error (a cut-off text ends in one) or past ``limits.max_depth``,
    and returns the keys seen until then.
    """
    _check_text_size(text, limits)
    keys: set[str] = set()
    depth = 0
    in_mapping = is_key = False
    try:
        for event in yaml.parse(text, Loader=SafeLoader):
            if isinstance(event, yaml.DocumentEndEvent):
                break
            if depth == 1 and in_mapping and isinstance(event, yaml.NodeEvent):
                if is_key and isinstance(event, yaml.ScalarEvent):
                    keys.add(event.value)
                is_key = not is_key
            if isinstance(event, yaml.CollectionStartEvent):
                if depth == 0:
                    in_mapping = is_key = isinstance(event, yaml.MappingStartEvent)
                depth += 1
                if depth > limits.max_depth:
                    break
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass  # the keys so far; the reader chosen will report the error with its line
    return keys


# --- JSON ---------------------------------------------------------------------------------

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_JSON_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class _DuplicateKey(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _DuplicateKey(key)
        data[key] = value
    return data


def _check_json_depth(text: str, limits: Limits) -> None:
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    if not brackets or max(accumulate(_DEPTH_STEP[b] for b in brackets)) <= limits.max_depth:
        return
    depth = 0  # refused: find where, for the message
    for match in _JSON_STRING_OR_BRACKET.finditer(text):
        depth += _DEPTH_STEP.get(match.group(), 0)
        if depth > limits.max_depth:
            line = text.count("\n", 0, match.start()) + 1
            raise _too_deep(limits, line, match.start() - text.rfind("\n", 0, match.start()))
    raise _too_deep(limits)


def load_json(text: str, limits: Limits) -> Any:
    """A JSON document, checked against ``limits`` before ``json.loads`` sees it."""
    _check_text_size(text, limits)
    _check_json_depth(text, limits)
    try:
        return json.loads(text, object_pairs_hook=None if limits.duplicate_keys else _no_duplicates)
    except json.JSONDecodeError as error:
        raise DocumentError(error.msg, line=error.lineno, column=error.colno, syntax=True) from None
    except _DuplicateKey as error:
        raise DocumentError(f"key '{error.args[0]}' appears twice in the same object; keep one") from None
    except ValueError as error:  # e.g. an integer with thousands of digits
        raise _unreadable_value(error) from None
