import pytest

from yiwang.workcal import calendar


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """Each test starts from the database: a test's rollback leaves no new token for the process to notice."""
    calendar.forget()
    yield
    calendar.forget()
