"""People's names in SQL, the same on both engines: found by a case-insensitive part of
the name, and sorted by code point (name, then id), as the pairing workspace has always
listed them.

PostgreSQL would otherwise sort text by its collation (en-US puts "alice" before "Bob";
SQLite and "C" put "Bob" first), and SQLite's own lower() and LIKE fold ASCII letters only
("Émile" would not be found by "émile"), so SQLite gets Python's casefold as a function on
every connection (`mentor_app.db`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

SEARCH_MAX = 80
ESCAPE = "\\"


class casefold(FunctionElement[str]):
    """The text folded for a case-insensitive match: Python's casefold on SQLite (a
    function registered by `mentor_app.db`), lower() elsewhere."""

    type = String()
    inherit_cache = True
    name = "casefold"


@compiles(casefold)
def _casefold(element: casefold, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(casefold, "sqlite")
def _casefold_sqlite(element: casefold, compiler: SQLCompiler, **kw: Any) -> str:
    return f"casefold({compiler.process(element.clauses, **kw)})"


class code_point_order(FunctionElement[str]):
    """The text, to sort by code point: COLLATE "C" on PostgreSQL; SQLite's own BINARY
    collation already does."""

    type = String()
    inherit_cache = True
    name = "code_point_order"


@compiles(code_point_order)
def _code_points(element: code_point_order, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(code_point_order, "postgresql")
def _code_points_pg(element: code_point_order, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'


def clean_search(search: str | None) -> str:
    """What the reader typed, trimmed and bounded ("" finds everyone)."""
    return (search or "").strip()[:SEARCH_MAX]


def name_contains(column: Any, search: str | None) -> ColumnElement[bool] | None:
    """A condition on `column` holding `search` in any case; None when `search` is empty.
    % and _ are matched as themselves, not as LIKE's wildcards."""
    needle = clean_search(search)
    if not needle:
        return None
    escaped = (
        needle.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    )
    pattern = casefold(literal(f"%{escaped}%", String()))
    return casefold(column).like(pattern, escape=ESCAPE)
