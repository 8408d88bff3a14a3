"""The administration site in a real browser (Playwright driving Debian's chromium), in Chinese."""

from pathlib import Path

import pytest

from yiwang.geo.models import Grid

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"


def login(page, live_server, username):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-Secret-123")
    page.click("input[type=submit]")


def test_district_admin_edits_a_grid_and_cannot_open_another_district(page, live_server, world, person):
    person("admin", region=world.district_a, username="quadmin")
    login(page, live_server, "quadmin")
    assert "一网" in page.title() or "网格" in page.content()
    page.goto(f"{live_server.url}/admin/geo/grid/")
    body = page.inner_text("body")
    assert "甲1网格" in body and "甲2网格" in body
    assert "乙1网格" not in body  # the sibling district's grid is not listed
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "admin-grid-list.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/geo/grid/{world.grid_a.pk}/change/")
    assert page.locator("svg[role=img] path").count() == 1
    page.screenshot(path=str(SHOTS / "admin-grid-change.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/geo/grid/{world.grid_a.pk}/change/")
    page.fill("#id_households", "333")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    assert Grid.objects.get(pk=world.grid_a.pk).households == 333

    # A grid of the other district answers like a missing one: back to the index with "does not exist".
    page.goto(f"{live_server.url}/admin/geo/grid/{world.grid_b.pk}/change/")
    body = page.inner_text("body")
    assert "不存在" in body and "乙1网格" not in body
    assert page.locator("#id_households").count() == 0
    assert Grid.objects.get(pk=world.grid_b.pk).households == 50


def test_a_refused_save_keeps_what_was_typed(page, live_server, world, person):
    person("admin", region=world.district_a, username="quadmin2")
    login(page, live_server, "quadmin2")
    page.goto(f"{live_server.url}/admin/geo/grid/{world.grid_a.pk}/change/")
    page.fill("#id_name", "改名后的网格")
    page.fill("#id_boundary", '{"type": "Polygon", "coordinates": [[[0,0],[1,1],[1,0],[0,1],[0,0]]]}')
    page.click("input[name=_save]")
    page.wait_for_selector(".errornote, .errorlist")
    assert page.input_value("#id_name") == "改名后的网格"
    assert "geometry_invalid" in page.inner_text("body")
    assert Grid.objects.get(pk=world.grid_a.pk).name == "甲1网格"


def test_grid_worker_updates_households_and_sees_the_rest_read_only(page, live_server, world, person):
    person("grid_worker", grid=world.grid_a, username="wgworker")
    login(page, live_server, "wgworker")
    page.goto(f"{live_server.url}/admin/geo/grid/")
    body = page.inner_text("body")
    assert "甲1网格" in body and "甲2网格" not in body
    page.goto(f"{live_server.url}/admin/geo/grid/{world.grid_a.pk}/change/")
    assert page.locator("#id_name").count() == 0  # shown as text, not a field
    page.fill("#id_households", "305")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    grid = Grid.objects.get(pk=world.grid_a.pk)
    assert (grid.households, grid.name) == (305, "甲1网格")
