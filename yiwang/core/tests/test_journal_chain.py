"""The journal as a hash chain: written through the services it verifies intact, and an entry edited, deleted or
re-hashed around the database's triggers is found and named."""

import datetime as dt
import decimal
import io
import threading
import time
import zoneinfo
from contextlib import contextmanager

import pytest
from django.core.management import call_command, execute_from_command_line
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count
from django.db.transaction import TransactionManagementError

from yiwang.core.journal import canonical, entry_hash, journal_verify
from yiwang.core.models import AuditEntry
from yiwang.core.services import _jsonable, audit_entry, audit_write, bulk_create_journaled
from yiwang.geo import services as geo
from yiwang.geo.models import Region


@contextmanager
def triggers_aside():
    """Tampering as someone with the database's owner rights would: around the append-only triggers."""
    sqlite = connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        if sqlite:
            cursor.execute("DROP TRIGGER core_auditentry_no_update")
            cursor.execute("DROP TRIGGER core_auditentry_no_delete")
        else:
            # The test's own inserts leave deferred foreign-key checks queued, which ALTER TABLE refuses to skip.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE core_auditentry DISABLE TRIGGER core_auditentry_no_change")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if sqlite:
                from importlib import import_module

                for statement in import_module("yiwang.core.migrations.0002_audit_append_only").SQLITE:
                    cursor.execute(statement)
            else:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("ALTER TABLE core_auditentry ENABLE TRIGGER core_auditentry_no_change")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def chain() -> list[AuditEntry]:
    return list(AuditEntry.objects.order_by("id"))


def middle_and_next(world) -> tuple[AuditEntry, AuditEntry]:
    entries = chain()
    middle = entries.index(AuditEntry.objects.get(action="region.create", object_id=str(world.street_a.pk)))
    assert 0 < middle < len(entries) - 1
    return entries[middle], entries[middle + 1]


def test_a_journal_written_through_the_services_verifies_intact(world):
    entries = chain()
    assert [e.action for e in entries].count("grid.create") == 3
    assert entries[0].prev_hash == ""  # genesis
    for before, entry in zip(entries, entries[1:], strict=False):
        assert entry.prev_hash == before.hash
    assert all(e.hash == entry_hash(e) for e in entries)

    report = journal_verify()
    assert report.ok and report.checked == len(entries) and report.last_hash == entries[-1].hash
    assert report.first_broken_id is None and report.reason == ""


def test_verify_can_start_in_the_middle(world):
    middle, _ = middle_and_next(world)
    report = journal_verify(start_id=middle.id)
    assert report.ok and report.checked == AuditEntry.objects.filter(id__gte=middle.id).count()


def test_bulk_writes_are_chained_in_list_order_across_batches(world):
    regions = [Region(code=f"2199{n:02d}000000", name=f"新区{n}", level="district", parent=world.city,
                      path=f"{world.city.path}2199{n:02d}000000/") for n in range(10, 33)]
    bulk_create_journaled(actor=None, objs=regions, action="region.seed", reason="测试", path_attr="path",
                          batch_size=5)
    AuditEntry.objects.bulk_create([audit_entry(actor=None, action="region.note", obj=world.city, reason=f"#{n}")
                                    for n in range(12)], batch_size=5)

    seeded = list(AuditEntry.objects.filter(action="region.seed").order_by("id"))
    assert [e.object_id for e in seeded] == [str(r.pk) for r in regions]  # ids follow the list
    notes = list(AuditEntry.objects.filter(action="region.note").order_by("id"))
    assert [e.reason for e in notes] == [f"#{n}" for n in range(12)]
    assert notes[0].prev_hash == seeded[-1].hash
    assert journal_verify().ok


def test_the_canonical_form_survives_the_database(world, person):
    actor = person("admin", region=world.district_a)
    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    tricky = {
        "名称": "甲区 · 「测试」\n第二行 😀", "none": None, "amount": _jsonable(decimal.Decimal("12.50")),
        "floats": [0.1, 0.30000000000000004, 1.0, -0.0, 1e23, 1.5e-07, 2.5e-300, 1.7976931348623157e308],
        "ints": [0, -7, 2**70], "flags": [True, False], "empty": [{}, []], "when": _jsonable(dt.date(2026, 3, 1)),
        "nested": {"z": {"b": [1, {"y": "乙", "a": None}]}, "a": "甲", "10": 1, "9": 2},
    }
    with transaction.atomic():
        entry = audit_entry(actor=actor, action="region.update", obj=world.district_a, before={"name": "旧名"},
                            after=tricky, reason="核查 — 'quotes' \"and\" \\ backslash", scope_path=world.district_a.path)
        entry.created_at = dt.datetime(2026, 3, 1, 8, 0, 0, 7, tzinfo=shanghai)  # 1 µs past the minute, not UTC
        AuditEntry.objects.bulk_create([entry])
    assert entry.actor_roles  # the admin's grant is part of what is hashed

    stored = AuditEntry.objects.get(pk=entry.pk)
    assert canonical(stored) == canonical(entry)
    assert stored.hash == entry.hash == entry_hash(stored)
    assert '"created_at":"2026-03-01T00:00:00.000007+00:00"' in canonical(stored)
    assert journal_verify().ok


@pytest.mark.parametrize("field, change", [
    ("reason", lambda e: "rewritten"),
    ("actor_name", lambda e: "someone else"),
    ("created_at", lambda e: e.created_at + dt.timedelta(microseconds=1)),
    ("after", lambda e: {**e.after, "name": "改名"}),
    ("object_id", lambda e: str(int(e.object_id) + 1)),
])
def test_an_edited_entry_is_named(world, field, change):
    middle, _ = middle_and_next(world)
    with triggers_aside():
        AuditEntry.objects.filter(pk=middle.pk).update(**{field: change(middle)})
    report = journal_verify()
    assert not report.ok and report.first_broken_id == middle.id and "edited" in report.reason
    assert report.checked == AuditEntry.objects.filter(id__lt=middle.id).count()


def test_a_deleted_entry_is_found_at_the_next_one(world):
    middle, after = middle_and_next(world)
    with triggers_aside():
        AuditEntry.objects.filter(pk=middle.pk).delete()
    report = journal_verify()
    assert not report.ok and report.first_broken_id == after.id and "deleted" in report.reason


def test_an_entry_edited_and_rehashed_is_found_at_the_next_one(world):
    middle, after = middle_and_next(world)
    middle.reason = "rewritten"
    with triggers_aside():
        AuditEntry.objects.filter(pk=middle.pk).update(reason=middle.reason, hash=entry_hash(middle))
    report = journal_verify()
    assert not report.ok and report.first_broken_id == after.id


def test_the_command_reports_an_intact_journal(world):
    out = io.StringIO()
    call_command("verify_journal", stdout=out)
    last = AuditEntry.objects.order_by("-id").first()
    assert out.getvalue().strip() == f"journal intact: {AuditEntry.objects.count()} entries, last hash {last.hash}"


def test_the_command_names_the_broken_entry_and_exits_1(world, capsys):
    middle, _ = middle_and_next(world)
    with triggers_aside():
        AuditEntry.objects.filter(pk=middle.pk).update(reason="rewritten")
    with pytest.raises(SystemExit) as exited:
        execute_from_command_line(["manage.py", "verify_journal"])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert f"journal broken at entry #{middle.id} (" in err and "region.create, 甲街道 (219901001000)):" in err
    assert "edited" in err


def test_the_database_still_refuses_changes_and_forks(world):
    entry = AuditEntry.objects.order_by("id")[3]
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    # A second entry chained onto the same predecessor (a writer that skipped the lock) is refused too.
    fork = audit_entry(actor=None, action="region.update", obj=world.city)
    fork.prev_hash = entry.prev_hash
    fork.hash = entry_hash(fork)
    with pytest.raises(IntegrityError), transaction.atomic():
        fork.save(force_insert=True)
    assert journal_verify().ok


@pytest.mark.django_db(transaction=True)
def test_journal_writes_need_a_transaction():
    city = geo.region_create(actor=None, code="219900000000", name="测试市", level="city")  # opens its own
    count = AuditEntry.objects.count()
    with pytest.raises(TransactionManagementError):
        audit_write(actor=None, action="region.create", obj=city)
    district = Region(code="219901000000", name="甲区", level="district", parent=city, path="219900000000/219901000000/")
    with pytest.raises(TransactionManagementError):
        bulk_create_journaled(actor=None, objs=[district], action="region.seed")
    assert AuditEntry.objects.count() == count and not Region.objects.filter(code=district.code).exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_chains_the_journal_an_installation_already_has(world, person):
    from django.db.migrations.executor import MigrationExecutor

    admin = person("admin", region=world.district_a)
    with transaction.atomic():
        audit_write(actor=admin, action="region.note", obj=world.district_a, after={"note": "有人"})
    written = [(e.id, e.prev_hash, e.hash) for e in chain()]
    executor = MigrationExecutor(connection)
    executor.migrate([("core", "0002_audit_append_only")])
    try:
        with connection.cursor() as cursor, pytest.raises(DatabaseError), transaction.atomic():
            cursor.execute("UPDATE core_auditentry SET reason = 'x'")  # unapplied, the triggers are back
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert [(e.id, e.prev_hash, e.hash) for e in chain()] == written  # the same chain, recomputed from the rows
    assert journal_verify().ok
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.update(reason="x")


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_take_turns_at_the_tail(world):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent write transactions (runs on PostgreSQL)")
    threads_n, per_thread = 8, 4
    start = threading.Barrier(threads_n)
    errors = []
    before = AuditEntry.objects.count()

    def write(n):
        try:
            start.wait()
            for k in range(per_thread):
                with transaction.atomic():
                    code = f"2199{10 + n * per_thread + k:02d}000000"
                    geo.region_create(actor=None, code=code, name=f"并发区{n}-{k}", level="district",
                                      parent=Region.objects.get(pk=world.city.pk))
                    time.sleep(0.005)  # hold the tail a moment so the others queue behind it
                    if k % 2:
                        AuditEntry.objects.bulk_create([audit_entry(actor=None, action="region.note",
                                                                    obj=world.city, reason=f"{n}/{k}/{i}")
                                                        for i in range(3)])
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert AuditEntry.objects.count() == before + threads_n * per_thread * (1 + 3 / 2)
    assert not AuditEntry.objects.values("prev_hash").annotate(n=Count("id")).filter(n__gt=1).exists()
    report = journal_verify()
    assert report.ok and report.checked == AuditEntry.objects.count()
