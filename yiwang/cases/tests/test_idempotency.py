"""A retried report never makes a second case: same Idempotency-Key, same answer."""

import threading

import pytest
from django.db import connection, connections

from yiwang.cases.models import Case
from yiwang.cases.tests.conftest import IN_A


def test_a_retry_gets_the_first_answer(cast, api):
    client = api(cast.resident)
    body = {"description": "路灯不亮", **IN_A, "category": "E0102"}
    first = client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="phone-7f3a-0001")
    again = client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="phone-7f3a-0001")
    assert first.status_code == again.status_code == 201
    assert again.json()["number"] == first.json()["number"] and again["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 1
    # the same key for a different report is a client bug, refused
    other = client.post("/api/v1/cases/", {**body, "description": "井盖丢失"}, format="json",
                        HTTP_IDEMPOTENCY_KEY="phone-7f3a-0001")
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    # keys are per person: another resident's identical key is theirs
    mine = api(cast.resident2).post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="phone-7f3a-0001")
    assert mine.status_code == 201 and Case.objects.count() == 2
    # without a key each request is its own
    client.post("/api/v1/cases/", body, format="json")
    assert Case.objects.count() == 3


def test_a_failed_request_stores_nothing_so_its_retry_is_tried_afresh(cast, api):
    client = api(cast.resident)
    bad = client.post("/api/v1/cases/", {"description": "x", "lat": 10, "lon": 10}, format="json",
                      HTTP_IDEMPOTENCY_KEY="k-1")
    assert bad.status_code == 400
    fixed = client.post("/api/v1/cases/", {"description": "x", "lat": 10, "lon": 10}, format="json",
                        HTTP_IDEMPOTENCY_KEY="k-1")
    assert fixed.status_code == 400  # the same bad request is refused again, not replayed as stored
    assert client.post("/api/v1/cases/", {"description": "x", **IN_A}, format="json",
                       HTTP_IDEMPOTENCY_KEY="k-2").status_code == 201
    assert client.post("/api/v1/cases/", {"description": "x"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="bad key with spaces").json()["error"]["code"] \
        == "idempotency_key_invalid"


@pytest.mark.django_db(transaction=True)
def test_two_copies_racing_make_one_case(cast):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    from rest_framework.test import APIClient

    barrier, answers = threading.Barrier(4), []

    def send():
        client = APIClient()
        client.force_authenticate(cast.resident)
        try:
            barrier.wait()
            answers.append(client.post("/api/v1/cases/", {"description": "重复提交", **IN_A}, format="json",
                                       HTTP_IDEMPOTENCY_KEY="race-1"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [201] * 4
    assert len({a.json()["number"] for a in answers}) == 1
    assert Case.objects.count() == 1
