"""The pages' shell: where each person starts, staff sign-in, the language switch and large text."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role, home", [
    ("acceptor", "/console/"), ("dispatcher", "/console/"), ("unit_staff", "/console/"), ("leader", "/command/"),
    ("grid_worker", "/m/grid/"), ("resident", "/m/"), (None, "/m/"),
])
def test_each_person_starts_where_their_work_is(client, world, person, role, home):
    user = person(role, region=world.district_a) if role not in ("grid_worker", "unit_staff") else (
        person(role, grid=world.grid_a) if role == "grid_worker" else person(role, unit=world.unit_a))
    client.force_login(user)
    assert client.get("/").headers["Location"] == home


def test_anonymous_visitor_starts_at_the_report_page(client):
    assert client.get("/").headers["Location"] == "/m/"


def test_staff_sign_in_refuses_a_wrong_password_in_chinese_and_keeps_the_name(client, world, person):
    person("acceptor", region=world.district_a, username="desk1")
    response = client.post("/login/", {"username": "desk1", "password": "wrong"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "请输入一个正确的" in body and 'value="desk1"' in body
    response = client.post("/login/", {"username": "desk1", "password": "pw-Secret-123"})
    assert response.headers["Location"] == "/console/"


def test_sign_in_never_redirects_off_site(client, world, person):
    person("acceptor", region=world.district_a, username="desk2")
    response = client.post("/login/?next=https://evil.example/", {"username": "desk2", "password": "pw-Secret-123"})
    assert response.headers["Location"] == "/console/"


def test_pages_speak_chinese_by_default_and_english_on_request(client):
    assert "员工登录" in client.get("/login/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert "Staff sign in" in client.get("/login/").content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_large_text_is_remembered_on_the_phone(new_page, live_server):
    page = new_page("phone")
    page.goto(f"{live_server.url}/login/")
    size = lambda: page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")  # noqa: E731
    assert size() == 16
    page.get_by_role("button", name="大字").click()
    assert size() == 21
    page.reload()
    assert size() == 21 and page.get_by_role("button", name="标准字").get_attribute("aria-pressed") == "true"
