"""`path__under=prefix`: "this subtree" as a prefix match that uses an index on SQLite and PostgreSQL.

SQLite compares text bytewise, so a range (prefix <= path < prefix + '~') walks the B-tree. PostgreSQL's
database collation is not bytewise, so there it is LIKE 'prefix%', which the `_like` (varchar_pattern_ops)
index Django creates for indexed CharFields serves. Paths hold only digits and '/', so there is nothing to
escape; `check_path` enforces that.
"""

import re

from django.db.models import CharField, Lookup

PATH_RE = re.compile(r"^([0-9]+/)+$")


def check_path(value: str) -> str:
    if not PATH_RE.match(value or ""):
        raise ValueError(f"not a region path: {value!r}")
    return value


@CharField.register_lookup
class Under(Lookup):
    lookup_name = "under"

    def get_db_prep_lookup(self, value, connection):
        return super().get_db_prep_lookup(check_path(value), connection)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "sqlite":
            return f"({lhs} >= {rhs} AND {lhs} < {rhs} || '~')", [*lhs_params, *rhs_params, *lhs_params, *rhs_params]
        return f"{lhs} LIKE {rhs} || '%%'", [*lhs_params, *rhs_params]
