"""pytest fixtures for browser tests (registered in the root conftest): one chromium per session, a fresh
context per page, in Chinese by default."""

import pytest

from . import browser as b


@pytest.fixture(scope="session")
def _live_server_sessions_ended(django_db_setup, django_db_blocker):
    """The session-wide live server keeps a PostgreSQL session open after it stops, which would stop the test
    database from being dropped. Set up before the live server, this ends that session after it stops."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid()")


@pytest.fixture(scope="session")
def chromium(_live_server_sessions_ended):
    import os

    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread for the rest of the session; the ORM
    # calls in the tests (and their fixtures) are plain sync code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    try:
        with sync_playwright() as playwright:
            browser = b.launch(playwright)
            yield browser
            browser.close()
    except RuntimeError as error:
        pytest.fail(str(error))


@pytest.fixture
def new_page(chromium):
    """new_page(size="desktop"|"phone"|"wall", locale="zh-CN") → a page in its own context (own cookies)."""
    contexts = []

    def make(size="desktop", locale="zh-CN", **options):
        preset = {"desktop": b.DESKTOP, "phone": b.PHONE, "wall": b.WALL}[size]
        context = chromium.new_context(locale=locale, **preset, **options)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page("desktop")
