"""The consoles' tests reuse the case loop's cast (yiwang/cases/tests/conftest.py): street A's desk, unit A,
district A's leader, street B's dispatcher."""

from yiwang.cases.tests.conftest import IN_A, IN_B, MONDAY, cast, report  # noqa: F401
