"""The demo city and its case history, built once for this package's tests (building the city takes about a
minute) inside a transaction that rolls back after the package's last test, so no other test sees them."""

import datetime as dt
from io import StringIO
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

# A Friday afternoon; the history covers the 120 days before it.
NOW = dt.datetime(2026, 11, 20, 16, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CASES = 300


def _cases():
    from yiwang.cases.models import Case

    return list(Case.objects.order_by("number").values_list("number", "status", "channel", "category__code"))


@pytest.fixture(scope="package")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction
    from django.test import override_settings

    from yiwang.cases.models import Case
    from yiwang.demo.history import demo_history_build
    from yiwang.geo import locator_state

    # The tests' password hasher (the root conftest's, which is function-scoped), so the accounts can sign in.
    fast_hasher = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    # The photos of the fixes on the spot go to a folder of these tests' own.
    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"), STORAGES={
        **settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}})
    with media, django_db_blocker.unblock(), transaction.atomic():
        city_output = StringIO()
        with fast_hasher:
            call_command("seed_demo", "--cases", "0", stdout=city_output)
        # The locator distrusts an index built inside the transaction that changed the grids; these grids are
        # this transaction's own and stay as they are until it rolls back.
        locator_state.trust_pending()

        # --if-missing on a city without cases builds only the history (up to the real clock's now).
        savepoint = transaction.savepoint()
        history_output = StringIO()
        call_command("seed_demo", "--if-missing", "--cases", "40", stdout=history_output)
        command_cases = Case.objects.count()
        transaction.savepoint_rollback(savepoint)

        # The same seed and now twice: the first history is rolled back, the second one stays.
        savepoint = transaction.savepoint()
        demo_history_build(cases=CASES, now=NOW)
        first = _cases()
        transaction.savepoint_rollback(savepoint)
        report = demo_history_build(cases=CASES, now=NOW)

        yield SimpleNamespace(report=report, first=first, city_output=city_output.getvalue(),
                              history_output=history_output.getvalue(), command_cases=command_cases)
        transaction.set_rollback(True)
    # The city's grids were rolled back: the next use builds the index afresh (no database access here).
    locator_state.reset()
