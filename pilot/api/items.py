"""Rectification items: the checklist of a case, the firm's work and evidence, the experts'
verification and staff's waiver, through the same services as the item pages."""

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload
from sqlmodel import select

from pilot.api.blueprint import body, bp, expected_version
from pilot.api.errors import ApiError
from pilot.api.schemas import (
    FileList,
    FileOut,
    ItemList,
    ItemOut,
    ItemWork,
    NewItem,
    Reason,
    VersionBody,
)
from pilot.api.spec import multipart, responses, spec
from pilot.database import today
from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.files.store import FileRejected
from pilot.permissions import get_case_or_404, get_on_case_or_404
from pilot.rectification import services
from pilot.rectification.models import EVIDENCE, RectificationItem

TAGS = ["rectification items"]


def _evidence(item_ids: list[int]) -> dict[int, list[StoredFile]]:
    found: dict[int, list[StoredFile]] = {id: [] for id in item_ids}
    if item_ids:
        for stored in db.session.exec(
            select(StoredFile)
            .where(StoredFile.owner_type == EVIDENCE, StoredFile.owner_id.in_(item_ids))
            .where(StoredFile.is_current)
            .order_by(StoredFile.uploaded_at, StoredFile.id)
        ).all():
            found[stored.owner_id].append(stored)
    return found


def _item_out(item: RectificationItem, evidence: list[StoredFile]) -> ItemOut:
    return ItemOut.model_validate(
        {
            **item.model_dump(),
            "is_overdue": services.is_overdue(item, today()),
            "evidence": [FileOut.model_validate(f) for f in evidence],
            "notes": item.notes,
        }
    )


def _answer(item: RectificationItem, status: int = 200):
    db.session.refresh(item)
    out = _item_out(item, _evidence([item.id])[item.id])
    return out, status, {"ETag": f'"{item.version}"'}


def _refused(error: services.ItemError, item: RectificationItem | None) -> ApiError:
    """A refusal of the service: a named field is a 422, the item's state a 409 (with the
    version it has now)."""
    if isinstance(error, services.ItemConflict):
        return ApiError(409, str(error), current_version=error.current.version)
    if error.field:
        return ApiError(422, fields={error.field: [str(error)]})
    db.session.rollback()
    return ApiError(409, str(error), current_version=item.version if item else None)


@bp.get("/cases/<int:case_id>/items")
@spec.validate(resp=responses(200, ItemList), tags=TAGS, operation_id="list_items")
def list_items(case_id: int):
    """The case's checklist, by due date."""
    case = get_case_or_404(case_id)
    items = db.session.exec(
        select(RectificationItem)
        .where(RectificationItem.case_id == case.id)
        .options(selectinload(RectificationItem.notes))
        .order_by(RectificationItem.due_date, RectificationItem.id)
    ).all()
    evidence = _evidence([i.id for i in items])
    return ItemList(items=[_item_out(i, evidence[i.id]) for i in items])


@bp.post("/cases/<int:case_id>/items")
@spec.validate(
    json=NewItem,
    resp=responses(201, ItemOut, 403, 409, 422),
    tags=TAGS,
    operation_id="add_item",
)
def add_item(case_id: int):
    """Add an item by hand (staff, an assigned expert)."""
    case = get_case_or_404(case_id, "add_item")
    data: NewItem = body(NewItem)
    try:
        item = services.add_item(
            db.session,
            current_user,
            case,
            description=data.description,
            severity=data.severity,
            due_date=data.due_date,
            today=today(),
        )
    except services.ItemError as error:
        raise _refused(error, None) from None
    db.session.commit()
    return _answer(item, 201)


@bp.get("/items/<int:item_id>")
@spec.validate(resp=responses(200, ItemOut), tags=TAGS, operation_id="get_item")
def get_item(item_id: int):
    """One item; its ETag is its version, for If-Match."""
    item, _case = get_on_case_or_404(RectificationItem, item_id)
    return _answer(item)


@bp.patch("/items/<int:item_id>")
@spec.validate(
    json=ItemWork,
    resp=responses(200, ItemOut, 403, 409, 422),
    tags=TAGS,
    operation_id="work_item",
)
def work_item(item_id: int):
    """The firm records root cause, measure, owner and progress. Give the version read (field
    `version` or If-Match): a save on an older version is refused with 409 and the version now."""
    item, _case = get_on_case_or_404(RectificationItem, item_id, "work_item")
    data: ItemWork = body(ItemWork)
    version = expected_version(data.version, required=True)
    fields = data.model_dump(exclude={"version", "note"}, exclude_none=True)
    try:
        services.work(db.session, current_user, item, version=version, note=data.note, **fields)
    except services.ItemError as error:
        raise _refused(error, item) from None
    db.session.commit()
    return _answer(item)


@bp.post("/items/<int:item_id>/evidence")
@spec.validate(
    resp=responses(201, FileList, 403, 409, 413, 422),
    tags=TAGS,
    operation_id="upload_evidence",
)
def upload_evidence(item_id: int):
    """The firm uploads evidence files (multipart/form-data, field `files`, one or more)."""
    item, case = get_on_case_or_404(RectificationItem, item_id, "work_item")
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    if not uploads:
        raise ApiError(422, fields={"files": [_("Choose at least one file.")]})
    try:
        stored = services.add_evidence(db.session, current_user, item, uploads)
    except services.ItemError as error:
        raise _refused(error, item) from None
    except FileRejected as error:
        raise ApiError(422, fields={"files": [str(error)]}) from None
    db.session.commit()
    return FileList(items=[FileOut.model_validate(f) for f in stored]), 201


multipart("upload_evidence", "files", "The evidence files (PDF, images, office documents).")


@bp.post("/items/<int:item_id>/submit")
@spec.validate(
    json=VersionBody,
    resp=responses(200, ItemOut, 403, 409, 422),
    tags=TAGS,
    operation_id="submit_item",
)
def submit_item(item_id: int):
    """The firm hands the item to the experts (a measure, and evidence when the batch asks)."""
    item, _case = get_on_case_or_404(RectificationItem, item_id, "work_item")
    version = expected_version(body(VersionBody).version, required=False)
    try:
        services.submit(db.session, current_user, item, version=version)
    except services.ItemError as error:
        raise _refused(error, item) from None
    db.session.commit()
    return _answer(item)


@bp.post("/items/<int:item_id>/verify")
@spec.validate(resp=responses(200, ItemOut, 403, 409), tags=TAGS, operation_id="verify_item")
def verify_item(item_id: int):
    """An assigned expert accepts the submitted evidence."""
    item, _case = get_on_case_or_404(RectificationItem, item_id, "verify_item")
    try:
        services.verify(db.session, current_user, item)
    except services.ItemError as error:
        raise _refused(error, item) from None
    db.session.commit()
    return _answer(item)


@bp.post("/items/<int:item_id>/return")
@spec.validate(
    json=Reason,
    resp=responses(200, ItemOut, 403, 409, 422),
    tags=TAGS,
    operation_id="return_item",
)
def return_item(item_id: int):
    """An assigned expert returns the submitted item to the firm, saying why."""
    item, _case = get_on_case_or_404(RectificationItem, item_id, "verify_item")
    try:
        services.return_item(db.session, current_user, item, body(Reason).reason)
    except services.ItemError as error:
        raise _refused(error, item) from None
    db.session.commit()
    return _answer(item)


@bp.post("/items/<int:item_id>/waive")
@spec.validate(
    json=Reason,
    resp=responses(200, ItemOut, 403, 409, 422),
    tags=TAGS,
    operation_id="waive_item",
)
def waive_item(item_id: int):
    """Staff waive the item, with a reason."""
    item, _case = get_on_case_or_404(RectificationItem, item_id, "waive_item")
    try:
        services.waive(db.session, current_user, item, body(Reason).reason)
    except services.ItemError as error:
        raise _refused(error, item) from None
    db.session.commit()
    return _answer(item)
