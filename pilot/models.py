"""Imports every model module, so metadata (and Alembic) sees every table."""

from pilot.accounts.models import Role, User
from pilot.api.models import ApiToken
from pilot.audit.models import AuditLog
from pilot.batches.models import Batch
from pilot.cases.models import Case, ExpertAssignment, StageMark
from pilot.data_version import DataVersion
from pilot.diagnosis.models import Diagnosis, DiagnosisFramework, Finding, ItemScore, WorkTarget
from pilot.evaluation.models import Evaluation, KpiActual, ServiceRating
from pilot.files.models import StoredFile
from pilot.firms.models import Firm
from pilot.frameworks.models import BatchFramework, Framework, FrameworkCategory, FrameworkItem
from pilot.kpis.models import Kpi
from pilot.notifications.models import Notification
from pilot.plan.models import FollowUpPlan, PlanAction, TargetRevision
from pilot.rectification.models import ItemNote, RectificationItem
from pilot.reminders.models import DigestSent
from pilot.reports.models import ReportArchive, ReportJob
from pilot.submissions.models import FormSubmission
from pilot.survey.models import NeedsSurvey, SurveyBaseline
from pilot.training.models import (
    Attendance,
    CoachingRecord,
    SessionFinding,
    SessionInvite,
    TrainingSession,
)
from pilot.visits.models import Visit, VisitExpert

__all__ = [
    "DigestSent",
    "ApiToken",
    "ReportArchive",
    "ReportJob",
    "TargetRevision",
    "PlanAction",
    "FollowUpPlan",
    "ServiceRating",
    "KpiActual",
    "Evaluation",
    "Attendance",
    "AuditLog",
    "Batch",
    "BatchFramework",
    "Case",
    "DataVersion",
    "CoachingRecord",
    "Diagnosis",
    "DiagnosisFramework",
    "ExpertAssignment",
    "FormSubmission",
    "Finding",
    "Firm",
    "Framework",
    "FrameworkCategory",
    "FrameworkItem",
    "ItemNote",
    "ItemScore",
    "Kpi",
    "NeedsSurvey",
    "Notification",
    "RectificationItem",
    "Role",
    "SessionFinding",
    "SessionInvite",
    "StageMark",
    "StoredFile",
    "SurveyBaseline",
    "TrainingSession",
    "User",
    "Visit",
    "VisitExpert",
    "WorkTarget",
]
