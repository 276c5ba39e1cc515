"""The one door every user text goes through: length, nesting and size limits, checked before and after
sqlglot parses it (docs/security.md), and the guard that turns a RecursionError into a :class:`FormulaLimitError`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import Token, TokenType

from kpi_model.formula.errors import FormulaLimitError, OverLimitError

# Limits on user text (docs/security.md). sqlglot's parser recurses about 25 Python frames per bracket
# level, so nesting is counted on the token stream (the tokenizer does not recurse) before anything is
# parsed, and the parsed tree is measured without recursion before anything walks it recursively.
MAX_FORMULA_LENGTH = 4_000  # characters in a formula or filter
MAX_FORMULA_DEPTH = 24  # brackets, CASE and NOT/sign runs inside one another
MAX_FORMULA_NODES = 2_000  # parts of the parsed expression (columns, values, operators, functions)
MAX_FORMULA_TREE_DEPTH = 100  # levels of the parsed expression; a chain of AND/OR counts once
MAX_VIEW_LENGTH = 20_000
MAX_VIEW_DEPTH = 24
MAX_VIEW_NODES = 5_000
MAX_VIEW_TREE_DEPTH = 160
MAX_VIEW_TABLES = 64  # FROM and JOIN items; DuckDB's join planning slows sharply past about 100

# sqlglot logs a warning for every statement it falls back to parsing as a raw command.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


@dataclass(frozen=True)
class _Limits:
    length: int
    depth: int
    nodes: int
    tree_depth: int
    flatten: str  # how to nest less
    split: str  # how to make it smaller


_FORMULA_LIMITS = _Limits(
    MAX_FORMULA_LENGTH,
    MAX_FORMULA_DEPTH,
    MAX_FORMULA_NODES,
    MAX_FORMULA_TREE_DEPTH,
    "drop brackets that change nothing",
    "split it into smaller KPIs combined in a derived KPI",
)
_VIEW_LIMITS = _Limits(
    MAX_VIEW_LENGTH,
    MAX_VIEW_DEPTH,
    MAX_VIEW_NODES,
    MAX_VIEW_TREE_DEPTH,
    "use CTEs (WITH …) instead of subqueries inside subqueries",
    "split it into several view sources that select from each other",
)
_DUCKDB = Dialect.get_or_raise("duckdb")
_OPENERS = {
    TokenType.L_PAREN: TokenType.R_PAREN,
    TokenType.L_BRACKET: TokenType.R_BRACKET,
    TokenType.L_BRACE: TokenType.R_BRACE,
    TokenType.CASE: TokenType.END,
}
# Operators that wrap what they apply to in one more level: sqlglot's parser recurses once for each
# prefix applied to the next (NOT NOT x, @@x …), and writes a::INT::INT or a ^ b ^ c as nested calls.
_WRAPPERS = frozenset(
    {
        TokenType.NOT,
        TokenType.PARAMETER,
        TokenType.INTERVAL,
        TokenType.ANY,
        TokenType.COLON_EQ,
        TokenType.DCOLON,
        TokenType.CARET,
        TokenType.DSTAR,
    }
)
_SIGNS = frozenset({TokenType.DASH, TokenType.PLUS})
_OPERAND_ENDS = frozenset(
    {
        TokenType.VAR,
        TokenType.IDENTIFIER,
        TokenType.NUMBER,
        TokenType.STRING,
        TokenType.R_PAREN,
        TokenType.R_BRACKET,
        TokenType.R_BRACE,
        TokenType.END,
        TokenType.NULL,
        TokenType.TRUE,
        TokenType.FALSE,
        TokenType.STAR,
    }
)
# Tokens that end whatever wrapping operators came before them at the same bracket level.
_SEPARATORS = frozenset(
    {
        TokenType.COMMA,
        TokenType.AND,
        TokenType.OR,
        TokenType.WHEN,
        TokenType.THEN,
        TokenType.ELSE,
        TokenType.SELECT,
        TokenType.FROM,
        TokenType.WHERE,
        TokenType.HAVING,
        TokenType.QUALIFY,
        TokenType.ON,
        TokenType.USING,
        TokenType.JOIN,
        TokenType.UNION,
        TokenType.INTERSECT,
        TokenType.EXCEPT,
        TokenType.GROUP_BY,
        TokenType.ORDER_BY,
        TokenType.LIMIT,
        TokenType.ALIAS,
        TokenType.SEMICOLON,
    }
)


def _ends_operand(token: Token | None) -> bool:
    """Whether ``token`` can end an operand, so that a ``-`` or ``+`` after it is binary."""
    if token is None:
        return False
    return token.token_type in _OPERAND_ENDS or token.text[:1].isalpha() or token.text[:1] == "_"


def _too_deep(tokens: Sequence[Token], limit: int) -> Token | None:
    """The first token nested more than ``limit`` levels deep, else None (iterative: safe on any input).

    A level is an open bracket ( [ {, an open CASE, a prefix operator (NOT, unary - …) applied to what
    follows it, a cast or power applied to the one before (``a::INT::INT``), or a subscript after a
    subscript (``a[1][2]``). A comma, AND, OR or clause keyword ends the operators before it.
    """
    frames: list[tuple[TokenType, int, int]] = []  # (closing token, base, wrappers) of enclosing levels
    base = wrappers = 0
    previous: Token | None = None
    for token in tokens:
        kind = token.token_type
        if kind in _OPENERS:
            if kind == TokenType.L_BRACKET and previous is not None and previous.token_type == TokenType.R_BRACKET:
                wrappers += 1
            frames.append((_OPENERS[kind], base, wrappers))
            base, wrappers = base + wrappers + 1, 0
        elif frames and kind == frames[-1][0]:
            _, base, wrappers = frames.pop()
        elif kind in _SEPARATORS:
            wrappers = 0
        elif kind in _WRAPPERS or (kind in _SIGNS and not _ends_operand(previous)):
            wrappers += 1
        if base + wrappers > limit:
            return token
        previous = token
    return None


def _over_tree_limits(tree: exp.Expr, limits: _Limits) -> str | None:
    """Which tree limit ``tree`` passes, if any (measured without recursion)."""
    nodes = 0
    stack: list[tuple[exp.Expr, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > limits.nodes:
            return f"has more than {limits.nodes:,} parts (columns, values, operators and functions)"
        if depth > limits.tree_depth:
            return f"nests or chains more than {limits.tree_depth} operations inside one another"
        for child in node.iter_expressions():
            # sqlglot writes AND/OR chains and UNION chains without recursion, and DuckDB flattens them.
            flat = isinstance(node, exp.Connector) and isinstance(child, exp.Connector)
            flat = flat or (isinstance(node, exp.SetOperation) and isinstance(child, exp.SetOperation))
            stack.append((child, depth if flat else depth + 1))
    return None


def _too_complex(what: str, limits: _Limits) -> FormulaLimitError:
    return FormulaLimitError(
        f"the {what} is nested too deeply to check", f"simplify it: {limits.flatten}, or {limits.split}"
    )


def _parse_limited(text: str, what: str, limits: _Limits) -> list[exp.Expr]:
    """Parse ``text`` (DuckDB SQL) under ``limits``; the one door every user text goes through.

    Raises :class:`OverLimitError` when a limit is passed, :class:`FormulaLimitError` when sqlglot runs
    out of stack all the same, sqlglot's ParseError or TokenError when the text does not parse.
    """
    if len(text) > limits.length:
        raise OverLimitError(
            f"the {what} is {len(text):,} characters long, more than the {limits.length:,} allowed",
            f"shorten it: {limits.split}",
        )
    tokens = _DUCKDB.tokenize(text)
    deep = _too_deep(tokens, limits.depth)
    if deep is not None:
        raise OverLimitError(
            f"the {what} nests brackets, CASE, NOT or casts more than {limits.depth} levels deep",
            f"simplify it: {limits.flatten}, or {limits.split}",
            position=deep.start,
            text=text,
        )
    try:
        statements = [s for s in _DUCKDB.parser().parse(tokens, text) if s is not None]
    except RecursionError:
        raise _too_complex(what, limits) from None
    for statement in statements:
        over = _over_tree_limits(statement, limits)
        if over is not None:
            raise OverLimitError(
                f"the {what} {over}",
                f"simplify it: {limits.split}",
            )
    return statements


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _guarded(problem: str, fix: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """A decorator turning a RecursionError (deep input the limits did not foresee) into a FormulaLimitError."""

    def decorate(function: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(function)
        def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return function(*args, **kwargs)
            except RecursionError:
                raise FormulaLimitError(problem, fix) from None

        return guarded

    return decorate


_bounded = _guarded(
    "the SQL is nested too deeply to check",
    f"simplify it: {_FORMULA_LIMITS.flatten}, or {_FORMULA_LIMITS.split}",
)
