"""Imports every model module, so metadata (and Alembic) sees every table."""

from pilot.accounts.models import Role, User
from pilot.audit.models import AuditLog
from pilot.batches.models import Batch
from pilot.cases.models import Case, ExpertAssignment, StageMark
from pilot.files.models import StoredFile
from pilot.firms.models import Firm

__all__ = [
    "AuditLog",
    "Batch",
    "Case",
    "ExpertAssignment",
    "Firm",
    "Role",
    "StageMark",
    "StoredFile",
    "User",
]
