# ruff: noqa: F811  (the case loop's fixtures are imported, then asked for by name)
"""The leader's phone view and the monthly assessment in a real browser (Debian's Chromium, zh-CN): a leader
signs in on a phone, reads the same figures as the API's overview, drills down, urges an overdue case with one
tap and sees it urged; the assessment table on a desktop, with its printable report."""

import pytest

from yiwang.cases.models import CaseSupervision
from yiwang.cases.tests.conftest import cast, report  # noqa: F401
from yiwang.command.selectors import assessment
from yiwang.console.tests.conftest import LAST_WEEK, loop, sign_in  # noqa: F401
from yiwang.core import clock
from yiwang.web.testing.browser import no_violations, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]




def fig(page, name: str) -> str:
    return page.locator(f'[data-fig="{name}"]').inner_text().strip()


def test_a_leader_reads_the_figures_and_urges_a_case_on_the_phone(new_page, live_server, cast, loop):
    late = loop("in_progress", now=LAST_WEEK)  # red now
    loop("filed")
    loop("reported")
    page = new_page("phone")
    sign_in(page, live_server, cast.leader, "/command/m/")
    assert page.url.endswith("/command/m/")
    assert page.locator("h1").inner_text() == "甲区"

    data = page.request.get(f"{live_server.url}/api/v1/command/overview/").json()
    assert data["today"]["reported"] == 2 and data["month"]["overdue"] >= 1
    for name in ("reported", "filed", "closed"):
        assert fig(page, f"today-{name}") == str(data["today"][name])
        assert fig(page, f"month-{name}") == str(data["month"][name])
    assert fig(page, "overdue") == str(data["month"]["overdue"])
    assert fig(page, "supervised") == str(data["month"]["supervised"])
    assert fig(page, "score") == str(data["measures"]["score"]) and fig(page, "grade") == data["measures"]["grade"]
    assert page.locator(".acts > li").count() == len(data["act_on"])
    no_violations(page)
    screenshot(page, "command-phone")

    # Drill down to the street, and back up by the breadcrumbs.
    page.click(".ranks a:has-text('甲街道')")
    page.wait_for_url("**region=219901001000")
    assert page.locator("h1").inner_text() == "甲街道"
    street = page.request.get(f"{live_server.url}/api/v1/command/overview/?region=219901001000").json()
    assert fig(page, "month-reported") == str(street["month"]["reported"])

    item = page.locator(f"#case-{late.pk}")
    item.locator("input[name=note]").fill("请今天办结")
    item.locator("button[value=urge]").click()
    message = page.locator(f"#case-{late.pk} .msg-success")
    message.wait_for()
    assert late.number in message.inner_text()
    assert page.locator(f"#case-{late.pk} [data-urged]").get_attribute("data-urged") == "1"
    assert page.locator(f"#case-{late.pk}").get_by_text("已督办").count() == 1
    assert page.url.endswith("region=219901001000")  # answered in place, the figures with it
    assert fig(page, "supervised") == str(street["month"]["supervised"] + 1)
    row = CaseSupervision.objects.get(case=late)
    assert (row.action, row.note, row.leader_id) == ("urge", "请今天办结", cast.leader.pk)
    no_violations(page)
    screenshot(page, "command-phone-urged")

    page.click(".crumbs a:has-text('甲区')")
    page.wait_for_url("**region=219901000000")
    after = page.request.get(f"{live_server.url}/api/v1/command/overview/").json()
    assert after["month"]["supervised"] == data["month"]["supervised"] + 1
    assert fig(page, "supervised") == str(after["month"]["supervised"])


def test_the_urge_works_without_javascript(new_page, live_server, cast, loop):
    late = loop("in_progress", now=LAST_WEEK)
    page = new_page("phone", java_script_enabled=False)
    sign_in(page, live_server, cast.leader, "/command/m/")
    with page.expect_navigation():
        page.locator(f"#case-{late.pk} button[value=urge]").click()
    assert late.number in page.locator(".messages .msg-success").inner_text()
    assert page.locator(f"#case-{late.pk} [data-urged]").get_attribute("data-urged") == "1"


def test_the_monthly_assessment_on_a_desktop(new_page, live_server, cast, loop, report):
    loop("in_progress", now=LAST_WEEK)
    loop("reported")
    report(lat=40.005, lon=120.015)  # grid A2
    today = clock.now()
    page = new_page("desktop")
    sign_in(page, live_server, cast.leader, "/command/assessment/?level=grid")
    expected = assessment(actor=cast.leader, region=cast.world.district_a, year=today.year, month=today.month,
                          level="grid")
    codes = page.locator("table.assess tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")
    assert codes == [r["code"] for r in expected]
    scores = page.locator("table.assess [data-col=score]").all_inner_texts()
    assert scores == [str(r["score"]) for r in expected]
    assert page.locator(".tabs a[aria-current=page]").inner_text() == "网格"
    no_violations(page)
    screenshot(page, "command-assessment")

    with page.expect_download() as download:
        page.click("a[href*='assessment.csv']")
    assert download.value.suggested_filename.endswith("-grid.csv")

    page.click("a[href*='/command/assessment/print/']")
    page.wait_for_url("**/assessment/print/**")
    assert "考核" in page.locator("h1").inner_text() or "assessment" in page.locator("h1").inner_text()
    page.emulate_media(media="print")
    assert not page.locator("header.bar").is_visible() and not page.locator("[data-print]").is_visible()
    assert page.locator("table.assess tbody tr").count() == len(expected)
    screenshot(page, "command-assessment-print")


@pytest.mark.parametrize("url", ["/command/assessment/print/", "/command/assessment/"])
def test_the_assessment_in_english_fits_a_1366_pixel_screen(new_page, live_server, cast, loop, url):
    loop("in_progress", now=LAST_WEEK)
    page = new_page("desktop", locale="en-US")
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, live_server, cast.leader, url)
    assert "On-time closing rate" in page.locator("table.assess thead").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
