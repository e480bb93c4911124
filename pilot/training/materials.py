"""A session's materials: files kept for the whole batch."""

from flask_login import current_user
from sqlmodel import select
from werkzeug.datastructures import FileStorage

from pilot.extensions import db
from pilot.files.models import StoredFile
from pilot.files.store import FileRejected, distinct_names, save_upload
from pilot.training.models import TrainingSession

#: StoredFile.owner_type of a session's materials (batch-wide files).
MATERIAL_TYPE = "training"


def save_materials(training: TrainingSession, uploads: list[FileStorage]) -> None:
    """Keep the uploaded files; FileRejected (naming the file) stops at the first refused one."""
    distinct_names(uploads)
    for upload in uploads:
        shown = upload.filename
        try:
            save_upload(
                db.session,
                current_user,
                upload,
                owner_type=MATERIAL_TYPE,
                owner_id=training.id,
                batch_id=training.batch_id,
            )
        except FileRejected as error:
            raise FileRejected(f"{shown}: {error}") from error


def materials(training: TrainingSession | None) -> list[StoredFile]:
    if training is None or training.id is None:
        return []
    return db.session.exec(
        select(StoredFile)
        .where(StoredFile.owner_type == MATERIAL_TYPE, StoredFile.owner_id == training.id)
        .where(StoredFile.is_current)
        .order_by(StoredFile.name)
    ).all()
