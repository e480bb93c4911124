"""What the API reads and answers, as pydantic models (the OpenAPI document is made from them).

Decimals (hours, scores, targets) travel as strings so that they stay exact.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from pilot.security import MAX_ID

Exact = Annotated[Decimal, PlainSerializer(str, return_type=str, when_used="json")]
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]

STAGE_CODE = Literal["survey", "diagnosis", "rectification", "training", "plan", "evaluation"]
CURRENT_CODE = Literal[
    "survey", "diagnosis", "rectification", "training", "plan", "evaluation", "closed", "withdrawn"
]
STAGE_STATUS = Literal["not_started", "in_progress", "done", "overdue"]
ITEM_STATUS = Literal["open", "in_progress", "submitted", "verified", "returned", "waived"]
SEVERITY = Literal["severe", "general", "observation"]


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(Out):
    page: int
    per_page: int
    total: int = Field(description="How many records match, on every page.")


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    page: int = Field(1, ge=1, le=10_000)
    per_page: int = Field(20, ge=1, le=100)


# People, batches, firms -------------------------------------------------------------------------


class Person(Out):
    id: int
    display_name: str


class Me(Person):
    username: str
    role: Literal["admin", "staff", "expert", "firm"]
    firm_id: int | None


class BatchRef(Out):
    id: int
    name: str


class BatchOut(BatchRef):
    year: int
    start_date: date
    end_date: date
    required_training_sessions: int
    evidence_required: bool
    severe_due_days: int
    general_due_days: int


class BatchList(Out):
    items: list[BatchOut]


class FirmRef(Out):
    id: int
    name: str
    district: str = Field(description="District code (行政区划代码).")
    industry_code: str = Field(description="GB/T 4754 division, two digits.")


class FirmOut(FirmRef):
    credit_code: str = Field(description="统一社会信用代码.")
    mujun_class: str
    mujun_year: int
    employees: int | None
    land_mu: Exact | None
    revenue: Exact | None = Field(description="Annual revenue in 10,000 RMB (万元).")
    certifications: list[str]
    version: int


class FirmPage(Page):
    items: list[FirmOut]


# Cases and stages -------------------------------------------------------------------------------


class StageOut(Out):
    code: STAGE_CODE
    number: int
    label: str
    status: STAGE_STATUS
    due: date


class CaseOut(Out):
    id: int
    batch: BatchRef
    firm: FirmRef
    current_stage: CURRENT_CODE = Field(
        description="The first stage not done, or closed/withdrawn."
    )
    is_overdue: bool
    lead_expert: Person | None
    closed_at: datetime | None
    withdrawn_at: datetime | None
    stages: list[StageOut]


class CasePage(Page):
    items: list[CaseOut]


class CaseQuery(PageQuery):
    batch: RecordId | None = Field(None, description="Only cases of this batch.")
    stage: CURRENT_CODE | None = Field(None, description="Only cases whose current stage is this.")
    overdue: bool | None = Field(
        None, description="Only cases with (true) or without an overdue stage."
    )


class StageList(Out):
    case_id: int
    current_stage: CURRENT_CODE
    stages: list[StageOut]


# Files ------------------------------------------------------------------------------------------


class FileOut(Out):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    version: int
    uploaded_at: datetime


class FileList(Out):
    items: list[FileOut]


# Rectification items ----------------------------------------------------------------------------


class NoteOut(Out):
    author_id: int
    text: str
    created_at: datetime


class ItemOut(Out):
    id: int
    case_id: int
    description: str
    severity: SEVERITY
    status: ITEM_STATUS
    due_date: date
    is_overdue: bool
    root_cause: str
    measure: str
    owner_name: str
    owner_dept: str
    reason: str = Field(
        description="The expert's reason for returning it, or staff's for waiving it."
    )
    version: int = Field(
        description="Send it back (field `version` or If-Match) when changing the item."
    )
    submitted_at: datetime | None
    verified_at: datetime | None
    verified_by_id: int | None
    evidence: list[FileOut]
    notes: list[NoteOut]


class ItemList(Out):
    items: list[ItemOut]


class NewItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=5000)
    severity: Literal["severe", "general"]
    due_date: date | None = Field(None, description="Default: from the batch's days per severity.")


class ItemWork(BaseModel):
    """The firm's work on an item; fields left out keep their value."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(
        None, ge=0, lt=MAX_ID, description="The version read (or If-Match)."
    )
    root_cause: str | None = Field(None, max_length=5000)
    measure: str | None = Field(None, max_length=5000)
    owner_name: str | None = Field(None, max_length=100)
    owner_dept: str | None = Field(None, max_length=100)
    note: str = Field("", max_length=5000, description="A progress note to add.")


class VersionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(
        None, ge=0, lt=MAX_ID, description="The version read (or If-Match)."
    )


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=5000)


# Visits -----------------------------------------------------------------------------------------


class VisitOut(Out):
    id: int
    case_id: int
    visit_date: date
    hours: Exact
    activities: str
    firm_participants: str
    status: Literal["logged", "confirmed", "disputed"]
    experts: list[Person]
    answered_at: datetime | None
    answer_comment: str


class VisitList(Out):
    items: list[VisitOut]


class ConfirmVisit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        "", max_length=5000, description="Required when staff confirm for the firm."
    )


# The diagnosis ----------------------------------------------------------------------------------


class PartOut(Out):
    code: str
    name: str
    score: Exact
    max: Exact


class FrameworkScore(Out):
    framework_id: int
    name: str
    domain: str
    total: Exact
    max: Exact
    complete: bool
    categories: list[PartOut]


class FindingOut(Out):
    id: int
    item_id: int = Field(description="The framework item it concerns.")
    description: str
    severity: SEVERITY
    disposition: Literal["rectify", "carry"] | None


class TargetOut(Out):
    id: int
    name: str
    unit: str
    direction: Literal["higher", "lower"]
    baseline: Exact | None
    target: Exact
    target_date: date


class DiagnosisOut(Out):
    id: int
    case_id: int
    round: Literal["baseline", "final"]
    status: Literal["draft", "submitted", "returned", "accepted"]
    summary: str
    submitted_at: datetime | None
    accepted_at: datetime | None
    frameworks: list[FrameworkScore]
    findings: list[FindingOut]
    targets: list[TargetOut]


# The follow-up plan -----------------------------------------------------------------------------


class PlanActionOut(Out):
    id: int
    what: str
    owner: str
    start_date: date
    due_date: date
    finding_id: int | None


class TargetRevisionOut(Out):
    id: int
    target_id: int
    new_target: Exact
    new_date: date
    reason: str


class PlanVersionOut(Out):
    id: int
    version: int
    status: Literal["draft", "submitted", "approved", "returned"]
    summary: str
    further_service: str
    submitted_at: datetime | None
    approved_at: datetime | None
    return_comment: str
    actions: list[PlanActionOut]
    revisions: list[TargetRevisionOut]


class PlanList(Out):
    items: list[PlanVersionOut]
