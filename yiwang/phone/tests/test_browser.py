"""The phone pages in a real browser at phone size, in Chinese."""

import pytest

from yiwang.web.testing.browser import axe_violations, screenshot

from .conftest import IN_A, category


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_anonymous_report_made_offline_is_sent_once_when_back_online(new_page, live_server, world):
    from yiwang.cases.models import Case

    category("E0102")
    page = new_page("phone", geolocation={"latitude": IN_A["lat"], "longitude": IN_A["lon"]},
                    permissions=["geolocation"])
    page.goto(f"{live_server.url}/m/report/")
    page.click("#use-gps")
    page.wait_for_function("document.getElementById('place-result').textContent.includes('甲1网格')")
    page.fill("#description", "路边有一堆垃圾")
    page.fill("#cat-search", "暴露垃圾")
    page.wait_for_selector("#cat-list input[value=E0102]")
    page.check("#cat-list input[value=E0102]")
    assert axe_violations(page) == []
    screenshot(page, "phone-report")
    page.fill("#contact_phone", "13812345678")
    page.context.set_offline(True)
    page.click("#send")
    page.wait_for_function("document.getElementById('yw-queue').textContent.includes('1')")
    assert Case.objects.count() == 0
    page.context.set_offline(False)
    page.wait_for_function("document.getElementById('yw-queue').textContent.includes('YW')", timeout=15000)
    assert Case.objects.filter(reporter_phone="13812345678").count() == 1
