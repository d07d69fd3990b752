"""Many rows in one statement: inserts, upserts and updates of a batch of results.

On PostgreSQL a batch travels as one array per column and is unnested on the server: one statement executed
once, where an executemany runs the statement once per row (its executor start-up, its round of locks and
constraint triggers each time). That per-row overhead was most of the database's CPU per dispatch. SQLite runs
in-process, where an executemany costs nothing extra: it keeps the plain form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.selectable import TableValuedAlias

Row = Mapping[str, Any]


def _unnested(table: Table, names: Sequence[str], rows: Sequence[Row]) -> TableValuedAlias:
    """`unnest(:a, :b, …) AS batch(a, b, …)`: the rows as a relation, one array parameter per column."""
    # one dimension: a JSON column's lists and objects are values of the array, not more dimensions of it
    arrays = [
        bindparam(f"batch_{name}", [row[name] for row in rows], type_=ARRAY(table.c[name].type, dimensions=1))
        for name in names
    ]
    return func.unnest(*arrays).table_valued(*names).render_derived(name="batch")


async def insert_rows(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[Row],
    *,
    conflict: Sequence[str] = (),
    update_columns: Sequence[str] = (),
) -> None:
    """Insert `rows` (all with the same keys); with `conflict`, rows whose key exists update `update_columns`."""
    if not rows:
        return
    on_postgresql = conn.dialect.name == "postgresql"
    statement = (postgresql if on_postgresql else sqlite).insert(table)
    if on_postgresql:
        names = list(rows[0])
        batch = _unnested(table, names, rows)
        statement = statement.from_select(names, select(*(batch.c[name] for name in names)))
    if conflict:
        statement = statement.on_conflict_do_update(
            index_elements=[table.c[name] for name in conflict],
            set_={name: statement.excluded[name] for name in update_columns},
        )
    await conn.execute(statement, None if on_postgresql else list(rows))


async def update_rows(
    conn: AsyncConnection, table: Table, keys: Sequence[str], rows: Sequence[Row], constants: Row | None = None
) -> None:
    """Update each row of `table` matched by the `keys` columns of one of `rows` with the rest of its values,
    and the columns of `constants` with the same value in every row."""
    if not rows:
        return
    names = list(rows[0])
    changed = [name for name in names if name not in keys]
    if conn.dialect.name == "postgresql":
        batch = _unnested(table, names, rows)
        await conn.execute(
            update(table)
            .where(*(table.c[key] == batch.c[key] for key in keys))
            .values({**{name: batch.c[name] for name in changed}, **(constants or {})})
        )
        return
    await conn.execute(
        update(table)
        .where(*(table.c[key] == bindparam(f"key_{key}") for key in keys))
        .values({**{name: bindparam(f"new_{name}") for name in changed}, **(constants or {})}),
        [
            {**{f"key_{key}": row[key] for key in keys}, **{f"new_{name}": row[name] for name in changed}}
            for row in rows
        ],
    )
