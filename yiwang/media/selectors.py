"""Reads of attachments. An attachment is seen by whoever may see its case (yiwang.cases.selectors); staff
over the case see all of them, the reporter and the public only those marked public."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from yiwang.accounts.policies import GRID, REGION, UNIT, grants_for
from yiwang.cases.models import Case, CaseAttachment, CaseHandler
from yiwang.cases.selectors import case_get_for
from yiwang.core.errors import NotFound
from yiwang.media.processing import Upload, photo_position


def staff_cases(actor, cases: Sequence[Case]) -> set[int]:
    """Of these cases (all visible to the actor), those the actor sees as staff — through a region, grid or
    unit role — rather than as a reporter or the public."""
    if actor is None or (getattr(actor, "is_superuser", False) and actor.is_active):
        return {case.pk for case in cases}
    grants = grants_for(actor).get("cases.view_case", [])
    paths = [g.path for g in grants if g.kind in (REGION, GRID)]
    units = {g.unit_id for g in grants if g.kind == UNIT}
    staff = {case.pk for case in cases if any(case.region_path.startswith(path) for path in paths)}
    rest = [case.pk for case in cases if case.pk not in staff]
    if units and rest:
        staff |= set(CaseHandler.objects.filter(case_id__in=rest, unit_id__in=units)
                     .values_list("case_id", flat=True))
    return staff


def attachments_for_cases(*, actor, cases: Sequence[Case]) -> dict[int, list[CaseAttachment]]:
    """The attachments the actor may see on each of these cases (which the caller has already read through
    the actor's scope), by case id: one query for a page of cases."""
    found: dict[int, list[CaseAttachment]] = {case.pk: [] for case in cases}
    unique = list({case.pk: case for case in cases}.values())
    for start in range(0, len(unique), 500):
        chunk = unique[start:start + 500]
        staff = staff_cases(actor, chunk)
        rows = CaseAttachment.objects.filter(case_id__in=[case.pk for case in chunk]).order_by("created_at", "id")
        for attachment in rows:
            if attachment.is_public or attachment.case_id in staff:
                found[attachment.case_id].append(attachment)
    return found


def attachment_get_for(*, actor, pk) -> CaseAttachment:
    """One attachment the actor may see; missing and forbidden alike raise NotFound."""
    try:
        attachment = CaseAttachment.objects.get(pk=pk)
    except (CaseAttachment.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    case = case_get_for(actor=actor, pk=attachment.case_id)
    if not attachment.is_public and case.pk not in staff_cases(actor, [case]):
        raise NotFound()
    return attachment


def photo_report_position(uploads: Iterable[Upload], *, region=None) -> tuple[float, float] | None:
    """A location for a report that came without one: the GPS position of its first photo that carries one and
    lies in a grid of the platform (inside `region` when the reporter named a region)."""
    from yiwang.geo.selectors import grid_locate

    for upload in uploads:
        position = photo_position(upload)
        if position is None:
            continue
        location = grid_locate(lat=position[0], lon=position[1])
        if location is not None and (region is None or location.grid_path.startswith(region.path)):
            return position
    return None
