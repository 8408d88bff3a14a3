"""Inserting many rows fast, for bulk loads (the imports, the big demo city).

Django's bulk_create prepares every value of every row through its field and compiles the statement anew per
slice (18 rows of a 55-column case per statement on SQLite): at a million rows that alone takes many minutes.
Here each model's columns and their adapters are worked out once, every row becomes a list of adapted values,
and they go in with one COPY on PostgreSQL, one prepared INSERT over all of them on SQLite (`executemany`).
Ids a caller needs up front (the cases', for their clocks and journal entries) are allocated in one statement:
from the sequence on PostgreSQL, after the table's highest id on SQLite, whose write transaction (BEGIN
IMMEDIATE) already excludes every other writer.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable

from django.db import connection, models


@functools.lru_cache(maxsize=32)
def _plan(model: type[models.Model], vendor: str, with_pk: bool):
    ops = connection.ops
    columns, pairs, adapted = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and not with_pk:
            continue
        columns.append(ops.quote_name(field.column))
        pairs.append((field.attname, field.get_default()))
        adapter = _adapter(field, vendor)
        if adapter is not None:
            adapted.append((len(pairs) - 1, adapter))
    table = ops.quote_name(model._meta.db_table)
    if vendor == "postgresql":
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    else:
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    return sql, tuple(pairs), tuple(adapted)


def _sqlite_datetime(value: dt.datetime) -> str:
    # What Django's SQLite backend stores: UTC, naive, "YYYY-MM-DD HH:MM:SS[.ffffff]".
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(" ")


def _adapter(field, vendor: str):
    if isinstance(field, models.JSONField):
        # COPY reads a column's text form, so JSON goes as JSON text on PostgreSQL too.
        return functools.partial(json.dumps, cls=field.encoder) if field.encoder else json.dumps
    if vendor == "postgresql":  # COPY writes dates, times and decimals from the Python values
        return None
    if isinstance(field, models.DateTimeField):
        return _sqlite_datetime
    if isinstance(field, models.DateField):
        return connection.ops.adapt_datefield_value
    if isinstance(field, models.DecimalField):
        return functools.partial(connection.ops.adapt_decimalfield_value, max_digits=field.max_digits,
                                 decimal_places=field.decimal_places)
    return None


def insert(model: type[models.Model], rows: Iterable[dict], *, with_pk: bool = False) -> int:
    """Insert rows given as {attname: value} (missing fields take their default) in order, in the caller's
    transaction: COPY on PostgreSQL, one prepared INSERT over all rows on SQLite. Values are Python values, as
    they would be on a model instance."""
    sql, pairs, adapted = _plan(model, connection.vendor, with_pk)
    params = []
    for row in rows:
        values = [row.get(attname, default) for attname, default in pairs]
        for i, adapt in adapted:
            value = values[i]
            if value is not None:
                values[i] = adapt(value)
        params.append(values)
    if not params:
        return 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:  # psycopg's own cursor
                for values in params:
                    copy.write_row(values)
        else:
            cursor.executemany(sql, params)
    return len(params)


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` fresh primary keys for `model`, in ascending order, for the caller to insert in its transaction
    (on SQLite a write transaction, BEGIN IMMEDIATE, so no other writer can take the same ones)."""
    if count <= 0:
        return []
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [table, pk, count])
            return sorted(row[0] for row in cursor.fetchall())
        cursor.execute(f"SELECT COALESCE(MAX({connection.ops.quote_name(pk)}), 0) FROM "
                       f"{connection.ops.quote_name(table)}")
        highest = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        start = max(highest, row[0] if row else 0) + 1
    return list(range(start, start + count))
