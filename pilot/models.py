"""Imports every model module, so metadata (and Alembic) sees every table."""

from pilot.accounts.models import Role, User
from pilot.audit.models import AuditLog
from pilot.batches.models import Batch
from pilot.cases.models import Case, ExpertAssignment, StageMark
from pilot.diagnosis.models import Diagnosis, DiagnosisFramework, Finding, ItemScore, WorkTarget
from pilot.files.models import StoredFile
from pilot.firms.models import Firm
from pilot.frameworks.models import BatchFramework, Framework, FrameworkCategory, FrameworkItem
from pilot.kpis.models import Kpi
from pilot.rectification.models import RectificationItem
from pilot.survey.models import NeedsSurvey, SurveyBaseline
from pilot.visits.models import Visit, VisitExpert

__all__ = [
    "AuditLog",
    "Batch",
    "BatchFramework",
    "Case",
    "Diagnosis",
    "DiagnosisFramework",
    "ExpertAssignment",
    "Finding",
    "Firm",
    "Framework",
    "FrameworkCategory",
    "FrameworkItem",
    "ItemScore",
    "Kpi",
    "NeedsSurvey",
    "RectificationItem",
    "Role",
    "StageMark",
    "StoredFile",
    "SurveyBaseline",
    "User",
    "Visit",
    "VisitExpert",
    "WorkTarget",
]
