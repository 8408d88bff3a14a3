"""The consoles over HTTP: who may open what (anonymous → sign-in, another street → 404, a resident → their own
pages), that a refused step changes nothing, and that bad input comes back next to its field, in Chinese, with
what was typed still there."""

import re

import pytest
from django.test import Client

from yiwang.cases import services
from yiwang.cases.choices import Status
from yiwang.cases.models import Case, CaseExtension, CaseSupervision
from yiwang.cases.tests.conftest import journal

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def slot(body: str, slot_id: str) -> str:
    """The text of the error slot `slot_id` in a page or an htmx answer."""
    found = re.search(rf'<p class="error" id="{re.escape(slot_id)}"[^>]*>(.*?)</p>', body, re.S)
    assert found, f"no slot {slot_id}"
    return found.group(1).strip()


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client
    return login


# --- access -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/console/", "/console/inbox/", "/console/cases/", "/console/unit/",
                                 "/console/leader/", "/console/cases/{pk}/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, loop, url):
    case = loop("reported")
    response = client.get(url.format(pk=case.pk))
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=/console/")


def test_an_anonymous_step_is_sent_to_sign_in_and_changes_nothing(client, loop):
    case = loop("reported")
    response = client.post(f"/console/cases/{case.pk}/do/accept/", {})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert Case.objects.get(pk=case.pk).status == Status.REPORTED


def test_a_resident_is_sent_to_their_own_pages(as_user, cast, loop):
    case = loop("reported")
    client = as_user(cast.resident)
    assert client.get("/console/inbox/")["Location"] == "/"
    assert client.get(f"/console/cases/{case.pk}/")["Location"] == "/"


@pytest.mark.parametrize("who", ["dispatcher_b", "unit_b", "leader_b"])
def test_another_streets_staff_get_the_404_page_for_a_case_and_its_steps(as_user, cast, loop, who):
    case = loop("filed")
    before = journal(case)
    client = as_user(getattr(cast, who))
    page = client.get(f"/console/cases/{case.pk}/")
    assert page.status_code == 404
    assert "找不到" in page.content.decode() and case.number not in page.content.decode()
    for verb, data in [("dispatch", {"unit": cast.world.unit_b.pk}), ("supervise", {"action": "urge"}),
                       ("void", {"reason": "x"})]:
        assert client.post(f"/console/cases/{case.pk}/do/{verb}/", data).status_code == 404
    assert client.post(f"/console/cases/{case.pk}/contact/").status_code == 404
    assert client.get(f"/console/inbox/?case={case.pk}").status_code in (404, 302)
    assert Case.objects.get(pk=case.pk).status == Status.FILED and journal(case) == before


def test_a_missing_case_looks_exactly_like_another_streets(as_user, cast):
    response = as_user(cast.dispatcher).get("/console/cases/999999/")
    assert response.status_code == 404 and "找不到" in response.content.decode()


def test_a_step_the_role_may_not_take_is_refused_on_the_action_and_changes_nothing(as_user, cast, loop):
    case = loop("reported")
    before = journal(case)
    client = as_user(cast.dispatcher)  # sees street A's cases, may not accept
    page = client.get(f"/console/cases/{case.pk}/").content.decode()
    assert 'id="h-accept"' not in page  # not offered …
    response = client.post(f"/console/cases/{case.pk}/do/accept/", {}, **HX)  # … and refused if tried
    assert response.status_code == 403
    assert slot(response.content.decode(), "e-accept") == "您无权进行此操作。"
    assert Case.objects.get(pk=case.pk).status == Status.REPORTED and journal(case) == before


def test_the_case_page_offers_exactly_the_steps_the_policies_allow(as_user, cast, loop):
    case = loop("reported")
    page = as_user(cast.shift_lead).get(f"/console/cases/{case.pk}/").content.decode()
    for verb in ("accept", "merge", "reject", "void"):
        assert f'id="h-{verb}"' in page
    for verb in ("file", "dispatch", "sign", "feedback", "supervise"):
        assert f'id="h-{verb}"' not in page
    acceptor = as_user(cast.acceptor).get(f"/console/cases/{case.pk}/").content.decode()
    assert 'id="h-accept"' in acceptor and 'id="h-void"' not in acceptor


# --- bad input --------------------------------------------------------------------------------------------

def test_reject_without_a_reason_shows_the_error_next_to_the_field(as_user, cast, loop):
    case = loop("reported")
    response = as_user(cast.acceptor).post(f"/console/cases/{case.pk}/do/reject/", {"reason": "  "})
    assert response.status_code == 400
    body = response.content.decode()
    assert slot(body, "e-reject-reason") == "请填写原因。"
    assert 'id="f-reject-reason" name="reason" rows="2" aria-describedby="e-reject-reason" data-key="r" ' \
           'aria-invalid="true"' in body
    assert Case.objects.get(pk=case.pk).status == Status.REPORTED


def test_dispatch_without_a_unit_keeps_what_was_typed(as_user, cast, loop):
    case = loop("filed")
    before = journal(case)
    client = as_user(cast.dispatcher)
    response = client.post(f"/console/cases/{case.pk}/do/dispatch/",
                           {"unit": "", "assisting": [str(cast.street_office.pk)], "note": "请今天处理"})
    body = response.content.decode()
    assert response.status_code == 400
    assert slot(body, "e-dispatch-unit") == "请选择承办单位。"
    assert 'value="请今天处理"' in body
    assert re.search(rf'<option value="{cast.street_office.pk}" selected>', body)  # the assisting unit kept
    assert journal(case) == before
    # The same through htmx: only the error slots come back, so the form (and any file chosen) stays as typed.
    answer = client.post(f"/console/cases/{case.pk}/do/dispatch/", {"unit": ""}, **HX)
    assert answer.status_code == 400 and "<form" not in answer.content.decode()
    assert slot(answer.content.decode(), "e-dispatch-unit") == "请选择承办单位。"


def test_merge_into_an_unknown_case_keeps_the_number_typed(as_user, cast, loop):
    case = loop("reported")
    response = as_user(cast.acceptor).post(f"/console/cases/{case.pk}/do/merge/", {"into": "YW-NOPE"})
    body = response.content.decode()
    assert slot(body, "e-merge-into") == "未找到要合并到的案件。" and 'value="YW-NOPE"' in body


def test_merging_by_number_joins_the_open_case(as_user, cast, loop):
    parent = loop("filed")
    case = loop("reported")
    response = as_user(cast.acceptor).post(f"/console/cases/{case.pk}/do/merge/", {"into": parent.number})
    assert response.status_code == 303
    assert Case.objects.get(pk=case.pk).parent_id == parent.pk


def test_an_extension_with_a_bad_amount_keeps_the_reason(as_user, cast, loop):
    case = loop("in_progress")
    response = as_user(cast.unit).post(f"/console/cases/{case.pk}/do/extend/",
                                       {"amount": "-1", "unit": "working_days", "reason": "需要协调物业"})
    body = response.content.decode()
    assert response.status_code == 400
    assert slot(body, "e-extend-amount") == "申请延期的时长须大于零，且不超过一年。"
    assert "需要协调物业" in body and not CaseExtension.objects.filter(case=case).exists()


def test_a_supervision_deadline_that_is_not_a_date_is_refused_next_to_the_field(as_user, cast, loop):
    case = loop("dispatched")
    response = as_user(cast.leader).post(f"/console/cases/{case.pk}/do/supervise/",
                                         {"action": "deadline", "due_at": "tomorrow", "note": "抓紧"})
    body = response.content.decode()
    assert response.status_code == 400 and slot(body, "e-supervise-due_at") and "抓紧" in body
    assert not CaseSupervision.objects.filter(case=case).exists()


def test_a_new_deadline_left_empty_asks_for_one_and_keeps_the_note(as_user, cast, loop):
    case = loop("dispatched")
    response = as_user(cast.leader).post(f"/console/cases/{case.pk}/do/supervise/",
                                         {"action": "deadline", "due_at": "", "note": "抓紧"})
    body = response.content.decode()
    assert response.status_code == 400 and slot(body, "e-supervise-due_at") == "请填写新的办理期限。"
    assert "抓紧" in body and not CaseSupervision.objects.filter(case=case).exists()


@pytest.mark.parametrize(("action", "due_at", "said"), [
    ("urge", "", "已催办案件 {n}，已通知当前承办人。"),
    ("flag", "", "案件 {n} 已列为督办。"),
    ("deadline", "2099-12-31T17:00", "已为案件 {n} 设定新的办理期限。"),
])
def test_the_message_after_supervising_says_which_step_was_taken(as_user, cast, loop, action, due_at, said):
    case = loop("dispatched")
    page = as_user(cast.leader).post(f"/console/cases/{case.pk}/do/supervise/",
                                     {"action": action, "due_at": due_at, "next": "/console/leader/"}, follow=True)
    assert said.format(n=case.number) in page.content.decode()


@pytest.mark.parametrize(("decision", "said"), [("approve", "案件 {n} 的延期申请已批准。"),
                                                ("deny", "案件 {n} 的延期申请未获批准。")])
def test_the_message_after_deciding_on_more_time_says_approved_or_denied(as_user, cast, loop, decision, said):
    case = loop("in_progress")
    services.case_extend(actor=cast.unit, case=case, amount=2, unit="working_days", reason="等待配件")
    page = as_user(cast.dispatcher).post(f"/console/cases/{case.pk}/do/approve_extension/",
                                         {"decision": decision, "queue": "extensions"}, follow=True)
    assert said.format(n=case.number) in page.content.decode()


def test_feedback_without_a_result_is_refused_in_english_when_asked(as_user, cast, loop):
    case = loop("in_progress")
    client = as_user(cast.unit)
    client.post("/i18n/setlang/", {"language": "en", "next": "/console/"})
    response = client.post(f"/console/cases/{case.pk}/do/feedback/", {"result": ""}, **HX)
    assert slot(response.content.decode(), "e-feedback-result") == "Describe what was done."


def test_feedback_takes_an_iphone_mov_from_the_file_chooser(as_user, cast, loop):
    """The feedback field offers MP4 and QuickTime videos beside photos (an iPhone's library gives a .MOV), and a
    MOV sent is the step's evidence, kept as video/quicktime."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from yiwang.media.tests import files

    case = loop("in_progress")
    client = as_user(cast.unit)
    page = client.get(f"/console/cases/{case.pk}/").content.decode()
    field = re.search(r'<input id="f-feedback-attachments"[^>]*>', page)[0]
    assert 'accept="image/*,video/mp4,video/quicktime"' in field
    mov = SimpleUploadedFile("IMG_0042.MOV", files.video(seconds=2, size=(96, 64), container="mov"),
                             content_type="video/quicktime")
    client.post(f"/console/cases/{case.pk}/do/feedback/", {"result": "已清运完毕", "attachments": mov}, **HX)
    case.refresh_from_db()
    assert case.status == Status.HANDLED
    [video] = case.attachments.filter(action="feedback")
    assert (video.kind, video.content_type, video.duration) == ("video", "video/quicktime", 2.0)


# --- the desk ----------------------------------------------------------------------------------------------

def test_the_inbox_lists_new_reports_oldest_first_with_duplicates_and_photos(as_user, cast, loop):
    first = loop("reported")
    second = loop("reported", description="同一堆垃圾")
    page = as_user(cast.acceptor).get(f"/console/inbox/?queue=new&case={second.pk}").content.decode()
    assert page.index(first.number) < page.index(second.number)
    assert 'id="h-dups"' in page and f"/console/cases/{first.pk}/" in page  # the older one is a likely duplicate


def test_after_accepting_an_acceptor_gets_the_next_report_and_a_shift_lead_keeps_the_case(as_user, cast, loop):
    first, second = loop("reported"), loop("reported")
    response = as_user(cast.acceptor).post(f"/console/cases/{first.pk}/do/accept/", {"queue": "new"}, follow=True)
    assert response.redirect_chain[-1][0].endswith(f"case={second.pk}")
    response = as_user(cast.shift_lead).post(f"/console/cases/{second.pk}/do/accept/", {"queue": "new"},
                                             follow=True)
    assert response.redirect_chain[-1][0].endswith(f"queue=accepted&case={second.pk}")
    assert 'id="h-file"' in response.content.decode()


def test_a_returned_case_is_dispatched_again_from_the_returned_queue(as_user, cast, loop):
    case = services.case_return(actor=cast.unit, case=loop("dispatched"), reason="不属本单位")
    client = as_user(cast.dispatcher)
    page = client.get("/console/inbox/?queue=returned").content.decode()
    assert case.number in page and "不属本单位" in page  # who sent it back, and why
    # The unit that sent it back is not offered again as the default.
    assert f'<option value="{cast.world.unit_a.pk}" selected>' not in page
    assert "推荐单位已退回此案件" in page
    client.post(f"/console/cases/{case.pk}/do/dispatch/", {"unit": cast.street_office.pk, "queue": "returned"})
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.lead_unit_id == cast.street_office.pk


def test_an_extension_is_approved_from_the_extension_queue(as_user, cast, loop):
    case = loop("in_progress")
    services.case_extend(actor=cast.unit, case=case, amount=2, unit="working_days", reason="等待配件")
    client = as_user(cast.dispatcher)
    page = client.get("/console/inbox/?queue=extensions").content.decode()
    assert case.number in page and "等待配件" in page
    client.post(f"/console/cases/{case.pk}/do/approve_extension/", {"decision": "approve", "queue": "extensions"})
    assert CaseExtension.objects.get(case=case).decision == "approved"


@pytest.fixture
def unsatisfied(cast, loop):
    """A case closed and rated unsatisfied by its reporter, who asks for it to be handled again."""
    case = loop("in_progress")
    services.case_feedback(actor=cast.unit, case=case, result="已清运")
    services.case_verify(actor=cast.grid_worker, case=case)
    return services.case_rate(actor=cast.resident, case=case, rating="unsatisfied", comment="没清干净")


def test_a_reopen_request_waits_in_its_queue_with_the_reporters_rating(as_user, cast, unsatisfied):
    client = as_user(cast.shift_lead)
    page = client.get("/console/inbox/?queue=reopen").content.decode()
    assert re.search(r'href="\?queue=reopen"[^>]*>[^<]*<span class="count">1</span>', page)
    assert unsatisfied.number in page and "没清干净" in page
    assert 'aria-labelledby="h-reopen"' in page and 'aria-labelledby="h-reopen_deny"' in page
    assert "?queue=reopen" not in as_user(cast.acceptor).get("/console/inbox/").content.decode()


def test_a_reopen_request_is_turned_down_with_a_reason_from_the_queue(as_user, cast, unsatisfied):
    client = as_user(cast.shift_lead)
    refused = client.post(f"/console/cases/{unsatisfied.pk}/do/reopen_deny/", {"reason": "", "queue": "reopen"})
    assert refused.status_code == 400 and slot(refused.content.decode(), "e-reopen_deny-reason")
    response = client.post(f"/console/cases/{unsatisfied.pk}/do/reopen_deny/",
                           {"reason": "已按标准清理", "queue": "reopen"})
    assert response.status_code == 303
    case = Case.objects.get(pk=unsatisfied.pk)
    assert case.status == Status.RATED and not case.reopen_requested
    assert journal(case)[-1] == "case.reopen_deny"
    page = client.get("/console/inbox/?queue=reopen").content.decode()
    assert re.search(r'href="\?queue=reopen"[^>]*>[^<]*<span class="count">0</span>', page)


def test_a_reopen_request_is_approved_from_the_queue(as_user, cast, unsatisfied):
    as_user(cast.shift_lead).post(f"/console/cases/{unsatisfied.pk}/do/reopen/",
                                  {"reason": "群众不满意，重办", "queue": "reopen"})
    case = Case.objects.get(pk=unsatisfied.pk)
    assert case.status == Status.DISPATCHED and case.reopen_count == 1


def closed(cast, loop, **fields):
    case = loop("in_progress", **fields)
    services.case_feedback(actor=cast.unit, case=case, result="已清运")
    return services.case_verify(actor=cast.grid_worker, case=case)


def test_the_desk_records_a_return_call_on_a_closed_hotline_case(as_user, cast, loop):
    hotline = closed(cast, loop, actor=cast.acceptor, channel="hotline", reporter_name="张先生",
                     reporter_phone="13812345678")
    by_app = closed(cast, loop)  # its reporter rates it in the app
    client = as_user(cast.acceptor)
    page = client.get("/console/inbox/?queue=callback").content.decode()
    assert hotline.number in page and by_app.number not in page
    assert 'aria-labelledby="h-rate_callback"' in page
    assert 'aria-labelledby="h-rate_callback"' not in client.get(f"/console/cases/{by_app.pk}/").content.decode()
    refused = client.post(f"/console/cases/{hotline.pk}/do/rate_callback/",
                          {"rating": "", "comment": "电话无人接听", "queue": "callback"})
    body = refused.content.decode()
    assert refused.status_code == 400 and slot(body, "e-rate_callback-rating") and "电话无人接听" in body
    client.post(f"/console/cases/{hotline.pk}/do/rate_callback/",
                {"rating": "basically_satisfied", "comment": "基本满意", "queue": "callback"})
    case = Case.objects.get(pk=hotline.pk)
    assert case.status == Status.RATED and case.rating == "basically_satisfied" and case.rating_comment == "基本满意"
    assert journal(case)[-1] == "case.rate_callback"


def test_the_timeline_calls_a_steps_note_a_note_and_a_reason_a_reason(as_user, cast, loop):
    case = loop("reported")
    client = as_user(cast.shift_lead)
    client.post(f"/console/cases/{case.pk}/do/accept/", {"category": "", "urgency": "", "note": "已电话核实"})
    client.post(f"/console/cases/{case.pk}/do/void/", {"reason": "重复登记"})
    page = client.get(f"/console/cases/{case.pk}/").content.decode()
    assert "备注: 已电话核实" in page and "理由: 重复登记" in page and "理由: 已电话核实" not in page


def test_the_reporters_contact_is_masked_until_shown_and_showing_it_is_journaled(as_user, cast, loop):
    case = loop("reported")
    client = as_user(cast.acceptor)
    page = client.get(f"/console/cases/{case.pk}/").content.decode()
    assert "139****0000" in page and "13900000000" not in page
    shown = client.post(f"/console/cases/{case.pk}/contact/").content.decode()
    assert "13900000000" in shown and journal(case)[-1] == "case.contact_read"
    dispatcher = as_user(cast.dispatcher)  # does not call reporters back
    assert "13900000000" not in dispatcher.get(f"/console/cases/{case.pk}/").content.decode()
    assert dispatcher.post(f"/console/cases/{case.pk}/contact/").status_code == 404


# --- lists, the unit, the leader ----------------------------------------------------------------------------

def test_the_case_list_filters_by_light_unit_and_grid(as_user, cast, loop):
    from yiwang.console.tests.conftest import LAST_WEEK

    late = loop("dispatched", now=LAST_WEEK)
    fresh = loop("filed")
    client = as_user(cast.dispatcher)
    red = client.get("/console/cases/?light=red").content.decode()
    assert late.number in red and fresh.number not in red
    by_unit = client.get(f"/console/cases/?unit={cast.world.unit_a.pk}").content.decode()
    assert late.number in by_unit and fresh.number not in by_unit
    by_grid = client.get(f"/console/cases/?grid={cast.world.grid_a2.pk}").content.decode()
    assert late.number not in by_grid
    by_code = client.get(f"/console/cases/?grid={cast.world.grid_a.code}").content.decode()  # all digits
    assert late.number in by_code and fresh.number in by_code
    assert f'<option value="{cast.world.grid_a.pk}" selected>' in by_code
    bad = client.get("/console/cases/?light=purple").content.decode()
    assert "未知的时限状态。" in bad


def test_the_case_list_downloads_as_csv_with_its_filters(as_user, cast, loop):
    import csv
    import io

    from yiwang.console.tests.conftest import LAST_WEEK

    late = loop("dispatched", now=LAST_WEEK, description="=HYPERLINK(\"http://x\")")
    fresh = loop("filed")
    client = as_user(cast.dispatcher)
    page = client.get("/console/cases/?light=red").content.decode()
    assert 'href="/console/cases/export.csv?light=red"' in page
    response = client.get("/console/cases/export.csv?light=red")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["案件编号", "状态", "亮灯"]
    assert [row[0] for row in rows[1:]] == [late.number] and fresh.number not in text
    assert rows[1][2] == "已超期" and rows[1][5].startswith("'=")  # never a formula
    assert "13900000000" not in text and "139****0000" not in text  # no reporter contact
    every = b"".join(client.get("/console/cases/export.csv").streaming_content).decode()
    assert late.number in every and fresh.number in every
    other = b"".join(as_user(cast.dispatcher_b).get("/console/cases/export.csv").streaming_content).decode()
    assert late.number not in other


def test_unit_staff_see_their_units_cases_and_sign_with_one_click(as_user, cast, loop):
    mine = loop("dispatched")
    client = as_user(cast.unit)
    page = client.get("/console/unit/").content.decode()
    assert mine.number in page
    assert client.get("/console/unit/", follow=False).status_code == 200
    assert as_user(cast.unit_b).get("/console/unit/").content.decode().count(mine.number) == 0
    client = as_user(cast.unit)
    client.post(f"/console/cases/{mine.pk}/do/sign/", {"next": "/console/unit/"})
    assert Case.objects.get(pk=mine.pk).status == Status.IN_PROGRESS


def test_the_unit_pages_next_page_stays_with_the_chosen_unit(as_user, cast, loop, monkeypatch):
    from yiwang.console import views

    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    loop("dispatched")
    loop("dispatched")
    superuser = type(cast.unit).objects.create_superuser("root", password="x")  # sees every unit
    page = as_user(superuser).get(f"/console/unit/?unit={cast.world.unit_a.pk}&tab=dispatched").content.decode()
    assert f'href="?unit={cast.world.unit_a.pk}&amp;tab=dispatched&amp;page=2"' in page


def test_a_leader_sees_red_cases_and_urges_with_one_click(as_user, cast, loop):
    from yiwang.console.tests.conftest import LAST_WEEK

    late = loop("dispatched", now=LAST_WEEK)
    fresh = loop("dispatched")
    client = as_user(cast.leader)
    page = client.get("/console/leader/").content.decode()
    assert late.number in page and fresh.number not in page
    response = client.post(f"/console/cases/{late.pk}/do/supervise/", {"action": "urge", "next": "/console/leader/"})
    assert response.status_code == 303 and response["Location"] == "/console/leader/"
    assert CaseSupervision.objects.get(case=late).action == "urge"
    assert "case.supervise" in journal(late)
    other = Client()  # a browser of their own (the flash message above lives in this one's cookie)
    other.force_login(cast.leader_b)
    assert late.number not in other.get("/console/leader/").content.decode()


def test_each_role_starts_on_its_console(as_user, cast):
    assert as_user(cast.acceptor).get("/console/")["Location"] == "/console/inbox/"
    assert as_user(cast.unit).get("/console/")["Location"] == "/console/unit/"
    assert as_user(cast.leader).get("/console/")["Location"] == "/console/leader/"


def test_a_leaders_console_links_back_to_the_command_centre_and_the_assessment(as_user, cast):
    header = as_user(cast.leader).get("/console/leader/").content.decode().split("</header>")[0]
    assert 'href="/command/"' in header and 'href="/command/assessment/"' in header
    header = as_user(cast.dispatcher).get("/console/inbox/").content.decode().split("</header>")[0]
    assert 'href="/command/' not in header


def test_escalating_moves_the_case_up_a_level_and_returns_to_its_page(as_user, cast, loop):
    case = loop("filed")
    client = as_user(cast.shift_lead)
    response = client.post(f"/console/cases/{case.pk}/do/escalate/",
                           {"reason": "需要区里协调", "next": f"/console/cases/{case.pk}/"})
    assert response.status_code == 303 and response["Location"] == f"/console/cases/{case.pk}/"
    assert Case.objects.get(pk=case.pk).level_id == cast.world.street_a.pk


def test_the_map_draws_the_apps_own_grid_and_point_and_tiles_only_when_configured(as_user, cast, loop, settings):
    import json

    case = loop("reported")
    client = as_user(cast.acceptor)

    def map_data():
        body = client.get(f"/console/cases/{case.pk}/").content.decode()
        found = re.search(r'<script id="map-data" type="application/json">(.*?)</script>', body, re.S)
        return json.loads(found.group(1))

    settings.YIWANG_TILE_URL = ""
    data = map_data()
    assert data["point"] == [40.005, 120.005] and data["grid"] == cast.world.grid_a.boundary and data["tiles"] == ""
    settings.YIWANG_TILE_URL = "https://tiles.example.gov.cn/{z}/{x}/{y}.png"
    assert map_data()["tiles"] == "https://tiles.example.gov.cn/{z}/{x}/{y}.png"


def test_a_leader_comments_when_urging_from_the_case_page(as_user, cast, loop):
    case = loop("dispatched")
    client = as_user(cast.leader)
    page = client.get(f"/console/cases/{case.pk}/").content.decode()
    assert 'id="h-supervise"' in page and 'id="h-dispatch"' not in page
    client.post(f"/console/cases/{case.pk}/do/supervise/", {"action": "urge", "note": "本周内必须解决",
                                                             "next": f"/console/cases/{case.pk}/"})
    row = CaseSupervision.objects.get(case=case)
    assert (row.action, row.note) == ("urge", "本周内必须解决")
    assert "本周内必须解决" in client.get(f"/console/cases/{case.pk}/").content.decode()
