# ruff: noqa: F811  (the consoles' fixtures are imported, then asked for by name)
"""The wall screen in a real browser at 1920×1080, in Chinese: the figures on the screen equal the API's for
the same region, clicking a ranking row and a map polygon drills down (and the figures then equal the API's
for that child), the screen refreshes itself, and axe finds nothing serious."""

import pytest

from yiwang.cases.choices import SuperviseAction
from yiwang.console.tests.conftest import LAST_WEEK, cast, loop, report, sign_in  # noqa: F401
from yiwang.web.testing.browser import axe_violations, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PERIODS = ("today", "month")
KEYS = ("reported", "filed", "closed", "overdue", "supervised")



def shown(page) -> dict[str, str]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[data-figure]')]
        .map(el => [el.dataset.figure, el.textContent.trim().replaceAll(',', '')]))""")


def api(page, live_server, code: str) -> dict:
    response = page.request.get(f"{live_server.url}/api/v1/command/overview/?region={code}")
    assert response.ok, response.text()
    return response.json()


def assert_same(page, data: dict) -> None:
    """The screen's today/month figures, score and grade are the API's."""
    figures = shown(page)
    for period in PERIODS:
        for key in KEYS:
            assert figures[f"{period}-{key}"] == str(data[period][key]), (period, key)
    assert figures["score"] == str(data["measures"]["score"])
    assert figures["grade"] == data["measures"]["grade"]
    assert page.locator("#wall-title").inner_text() == data["region"]["name"]


@pytest.fixture
def cases(cast, loop):
    from yiwang.cases import services

    loop("reported")
    loop("filed")
    loop("filed", channel="patrol", actor=cast.grid_worker, description="井盖缺失")
    overdue = loop("in_progress", now=LAST_WEEK)
    services.case_supervise(actor=cast.leader, case=overdue, action=SuperviseAction.FLAG, note="请尽快处理")
    return overdue


def test_the_wall_shows_the_apis_figures_and_drills_down_by_ranking_and_map(new_page, live_server, cast, cases,
                                                                              loop):
    page = new_page("wall")
    sign_in(page, live_server, cast.leader, "/command/")
    assert page.url.endswith("/command/")
    district = api(page, live_server, cast.world.district_a.code)
    assert district["today"]["reported"] == 3 and district["month"]["supervised"] == 1
    assert_same(page, district)
    # The charts are drawn (ECharts' canvases), the case points are on the map.
    for chart in ("#chart-trend", "#chart-hot", "#chart-channels"):
        page.locator(f"{chart} canvas").first.wait_for()
    assert page.locator("#wall-map .wall-point").count() == len(district["points"]) == 4
    assert page.locator("#p-act-on tbody tr").count() == 1
    assert page.locator(f'#p-act-on a[href="/console/cases/{cases.pk}/"]').inner_text() == cases.number
    screenshot(page, "command-wall")
    found = axe_violations(page)
    assert found == [], found

    # The screen refreshes itself: a new report shows up without reloading the page.
    loop("reported", description="又一处垃圾")
    page.evaluate("htmx.trigger('#wall-poll', 'wall-refresh')")
    page.wait_for_function("document.querySelector('[data-figure=today-reported]').textContent.trim() === '4'")
    page.locator("#chart-trend canvas").wait_for(timeout=5000)  # drawn again into the new panel
    assert_same(page, api(page, live_server, cast.world.district_a.code))

    # A ranking row (clicked beside its link) drills down to the street.
    with page.expect_navigation():
        page.locator(f'#p-children tr[data-code="{cast.world.street_a.code}"] td').nth(2).click()
    assert page.url.endswith(f"?region={cast.world.street_a.code}")
    assert_same(page, api(page, live_server, cast.world.street_a.code))
    crumbs = page.locator(".crumbs li").all_inner_texts()
    assert crumbs == [cast.world.district_a.name, cast.world.street_a.name]

    # Down to the community by its ranking link, then a grid by its polygon on the map.
    with page.expect_navigation():
        page.locator(f'#p-children a[href="?region={cast.world.community_a.code}"]').click()
    community = api(page, live_server, cast.world.community_a.code)
    assert_same(page, community)
    polygon = page.locator(f'#wall-map path.wall-area[data-code="{cast.world.grid_a.code}"]')
    polygon.wait_for()
    page.select_option("#map-measure", "score")  # recoloured by grade, still there
    with page.expect_navigation():
        polygon.click(force=True)
    assert page.url.endswith(f"?region={cast.world.grid_a.code}")
    grid = api(page, live_server, cast.world.grid_a.code)
    assert grid["region"]["level"] == "grid" and grid["today"]["reported"] == 4
    assert_same(page, grid)
    assert page.locator("#p-children tbody tr").count() == 0  # the last level

    # And back up by the breadcrumbs.
    with page.expect_navigation():
        page.locator(".crumbs a", has_text=cast.world.district_a.name).click()
    assert_same(page, api(page, live_server, cast.world.district_a.code))


def test_another_districts_wall_is_not_found(new_page, live_server, cast):
    page = new_page("wall")
    sign_in(page, live_server, cast.leader, "/command/")
    response = page.goto(f"{live_server.url}/command/?region={cast.world.district_b.code}")
    assert response.status == 404
    assert cast.world.district_b.name not in page.content()
