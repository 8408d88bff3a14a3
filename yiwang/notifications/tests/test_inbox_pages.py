"""My messages as pages (the in-app inbox; yiwang.notifications.views): on the phone for residents and grid
workers, in the console for staff — only one's own, the unread ones counted in the header, a message opening its
case where this person works on it, all read at once, and the SMS and e-mail switches."""

import re

import pytest

from yiwang.core.models import AuditEntry
from yiwang.notifications.models import Notification, NotificationPreference
from yiwang.notifications.services import notify
from yiwang.web.testing.browser import axe_violations, signed_in

pytestmark = pytest.mark.django_db


def page(client, user, url, **headers):
    client.force_login(user)
    return client.get(url, **headers)


def header_count(html: str) -> str | None:
    """The unread count shown beside 消息 in the header bar, or None."""
    found = re.search(r'<nav class="bar-nav".*?</nav>', html, re.S)[0]
    count = re.search(r'<span class="count count-new">(\d+)<', found)
    return count[1] if count else None


@pytest.fixture
def case(report):
    return report()


def test_a_resident_reads_their_messages_and_opens_the_case_they_are_about(client, cast, case):
    mine = notify(recipients=[cast.resident], kind="case_closed", text="您的上报已办结，请评价。", case=case)[0]
    notify(recipients=[cast.resident], kind="news", text="社区通知：本周六清理楼道杂物。")
    notify(recipients=[cast.resident2], kind="case_closed", text="别人的消息", case=case)
    html = page(client, cast.resident, "/m/messages/").content.decode()
    assert "您的上报已办结，请评价。" in html and "社区通知" in html and "别人的消息" not in html
    assert html.count('class="note note-unread"') == 2 and "2 条未读" in html and header_count(html) == "2"
    assert client.get("/m/").status_code == 200 and header_count(client.get("/m/mine/").content.decode()) == "2"

    opened = client.get(f"/m/messages/{mine.pk}/")
    assert opened.status_code == 302 and opened["Location"] == f"/m/mine/{case.pk}/"
    mine.refresh_from_db()
    assert mine.read_at is not None
    html = client.get("/m/messages/").content.decode()
    assert html.count('class="note note-unread"') == 1 and header_count(html) == "1"


def test_someone_elses_message_is_missing_and_stays_unread(client, cast, case):
    theirs = notify(recipients=[cast.resident2], kind="case_closed", text="别人的消息", case=case)[0]
    assert page(client, cast.resident, f"/m/messages/{theirs.pk}/").status_code == 404
    assert page(client, cast.acceptor, f"/console/messages/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_signing_in_is_needed(client):
    answer = client.get("/m/messages/")
    assert answer.status_code == 302 and answer["Location"].startswith("/m/login/")
    answer = client.get("/console/messages/")
    assert answer.status_code == 302 and answer["Location"].startswith("/login/")


def test_all_read_at_once(client, cast, case):
    for n in range(3):
        notify(recipients=[cast.resident], kind="case_closed", text=f"消息{n}", case=case)
    client.force_login(cast.resident)
    answer = client.post("/m/messages/read/")
    assert answer.status_code == 302 and answer["Location"] == "/m/messages/"
    assert not Notification.objects.filter(recipient=cast.resident, read_at__isnull=True).exists()
    html = client.get("/m/messages/").content.decode()
    assert "所有消息已标为已读。" in html and header_count(html) is None and "全部标为已读" not in html
    assert client.get("/m/messages/read/").status_code == 405


def test_a_message_without_a_case_opens_the_list(client, cast):
    note = notify(recipients=[cast.resident], kind="news", text="社区通知")[0]
    answer = page(client, cast.resident, f"/m/messages/{note.pk}/")
    assert answer["Location"] == "/m/messages/"


def test_a_grid_worker_opens_a_case_on_the_grid_pages(client, cast, case):
    note = notify(recipients=[cast.grid_worker], kind="case_to_verify", text="请现场核查", case=case)[0]
    html = page(client, cast.grid_worker, "/m/messages/").content.decode()
    assert "请现场核查" in html and 'href="/m/grid/"' in html  # with the grid worker's own navigation
    assert client.get(f"/m/messages/{note.pk}/")["Location"] == f"/m/grid/case/{case.pk}/"


def test_staff_read_theirs_in_the_console_and_a_message_opens_the_console_case(client, cast, case):
    note = notify(recipients=[cast.acceptor], kind="case_returned", text="案件已退回", case=case)[0]
    html = page(client, cast.acceptor, "/console/messages/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "案件已退回" in html and header_count(html) == "1" and "1 unread" in html
    assert header_count(client.get("/console/cases/").content.decode()) == "1"
    assert client.get(f"/console/messages/{note.pk}/")["Location"] == f"/console/cases/{case.pk}/"
    # a resident has theirs on the phone
    assert page(client, cast.resident, "/console/messages/")["Location"] == "/m/messages/"


def test_many_messages_come_page_by_page(client, cast, case):
    for n in range(31):
        notify(recipients=[cast.resident], kind="case_closed", text=f"第{n}条消息", case=case)
    first = page(client, cast.resident, "/m/messages/").content.decode()
    second = client.get("/m/messages/?page=2").content.decode()
    assert first.count('<li class="note') == 30 and second.count('<li class="note') == 1
    assert "第30条消息" in first and "第0条消息" in second  # newest first


def test_the_sms_and_email_switches(client, cast):
    resident = cast.resident
    resident.phone, resident.email = "13812345678", ""
    resident.save(update_fields=["phone", "email"])
    html = page(client, resident, "/m/messages/").content.decode()
    assert 'name="sms" checked' in html and 'name="email" disabled' in html and "您的账号没有电子邮箱" in html
    answer = client.post("/m/messages/channels/", {})  # the SMS box unticked; e-mail is not offered
    assert answer.status_code == 302
    preference = NotificationPreference.objects.get(user=resident)
    assert preference.sms is False and preference.email is True  # no address: its switch is left as it was
    entry = AuditEntry.objects.get(action="notification_preference.change")
    assert entry.actor_id == resident.pk and entry.after == {"sms": False}
    client.post("/m/messages/channels/", {"sms": "on"})
    preference.refresh_from_db()
    assert preference.sms is True


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_phone_messages_page_fits_the_phone(new_page, live_server, cast, report):
    case = report()
    for n in range(3):
        notify(recipients=[cast.resident], kind="case_closed", text="您的上报 YW20261208-000123 已办结，请对处理结果进行评价。"
               * (n + 1), case=case)
    for locale, unread in (("zh-CN", 3), ("en-US", 2)):
        phone = signed_in(new_page("phone", locale=locale), live_server, cast.resident)
        phone.goto(f"{live_server.url}/m/messages/")
        assert phone.locator(".bar-nav .count-new").inner_text().split()[0] == str(unread)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, locale
        assert axe_violations(phone) == [], locale
        phone.locator(".note-unread a").first.click()
        phone.wait_for_url(f"**/m/mine/{case.pk}/")
        assert phone.locator(".bar-nav .count-new").inner_text().split()[0] == str(unread - 1)
