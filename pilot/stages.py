"""The stage rules: every page, the board, the API, the PDF and the CLI ask this module.

A stage's status is derived from records, never stored. Each stage has a rule saying whether
its own records are complete ("met"); a stage is *done* only when it is met and every stage it
needs is done. Until a stage's records exist in the app, its rule is staff's manual mark.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlmodel import Session, select

from pilot.cases.models import Case, StageMark


class Status(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Stage:
    code: str
    number: int
    label: str
    needs: tuple[str, ...]


STAGES: tuple[Stage, ...] = (
    Stage("survey", 1, _l("Needs survey and analysis"), ()),
    Stage("diagnosis", 2, _l("On-site quality diagnosis"), ("survey",)),
    Stage("rectification", 3, _l("Rectification list"), ("diagnosis",)),
    Stage("training", 4, _l("Centralised training"), ("diagnosis",)),
    Stage("plan", 5, _l("Follow-up service plan"), ("diagnosis",)),
    Stage("evaluation", 6, _l("Evaluation of targets and service"), ("plan", "training")),
)
STAGE_CODES = tuple(s.code for s in STAGES)
BY_CODE = {s.code: s for s in STAGES}

#: Codes a case's "current stage" can take besides the six stages.
CLOSED = "closed"
WITHDRAWN = "withdrawn"

STATUS_LABELS = {
    Status.NOT_STARTED: _l("Not started"),
    Status.IN_PROGRESS: _l("In progress"),
    Status.DONE: _l("Done"),
    Status.OVERDUE: _l("Overdue"),
}
CURRENT_LABELS = {CLOSED: _l("Closed"), WITHDRAWN: _l("Withdrawn")}


def current_label(code: str) -> str:
    return str(CURRENT_LABELS[code]) if code in CURRENT_LABELS else str(BY_CODE[code].label)


@dataclass
class CaseFacts:
    """What the rules read about one case, loaded for many cases in a few queries."""

    case_id: int
    due: dict[str, date]
    withdrawn: bool = False
    closed: bool = False
    #: stage code -> reason of staff's manual mark
    marks: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Met:
    met: bool
    why: str = ""


def _manual_mark(stage: str) -> Callable[[CaseFacts], Met]:
    def rule(facts: CaseFacts) -> Met:
        reason = facts.marks.get(stage)
        return Met(True, reason) if reason is not None else Met(False)

    return rule


#: stage code -> rule telling whether the stage's own records are complete.
RULES: dict[str, Callable[[CaseFacts], Met]] = {code: _manual_mark(code) for code in STAGE_CODES}

#: Stages whose rule is still staff's manual mark (the case page offers the mark for these).
MANUAL_STAGES: set[str] = set(STAGE_CODES)


@dataclass(frozen=True)
class StageState:
    stage: Stage
    status: Status
    due: date
    why: str = ""

    @property
    def code(self) -> str:
        return self.stage.code


@dataclass(frozen=True)
class Progress:
    case_id: int
    stages: tuple[StageState, ...]
    current: str

    def __getitem__(self, code: str) -> StageState:
        return next(s for s in self.stages if s.code == code)

    @property
    def is_overdue(self) -> bool:
        return any(s.status == Status.OVERDUE for s in self.stages)

    @property
    def all_done(self) -> bool:
        return all(s.status == Status.DONE for s in self.stages)


def evaluate(facts: CaseFacts, today: date) -> Progress:
    """Each stage's status and the case's current stage, on the given day."""
    done: dict[str, bool] = {}
    states = []
    for stage in STAGES:  # in order, so what a stage needs is already decided
        met = RULES[stage.code](facts)
        needs_done = all(done[n] for n in stage.needs)
        done[stage.code] = met.met and needs_done
        due = facts.due[stage.code]
        if done[stage.code]:
            status = Status.DONE
        elif today > due and not (facts.withdrawn or facts.closed):
            status = Status.OVERDUE
        elif needs_done:
            status = Status.IN_PROGRESS
        else:
            status = Status.NOT_STARTED
        states.append(StageState(stage, status, due, met.why))
    if facts.withdrawn:
        current = WITHDRAWN
    elif facts.closed:
        current = CLOSED
    else:
        # A case whose six stages are done waits in "evaluation" for staff to close it.
        current = next((s.code for s in states if s.status != Status.DONE), STAGES[-1].code)
    return Progress(facts.case_id, tuple(states), current)


def load_facts(session: Session, cases: Iterable[Case]) -> dict[int, CaseFacts]:
    cases = list(cases)
    facts = {
        c.id: CaseFacts(
            case_id=c.id,
            due={code: c.due(code) for code in STAGE_CODES},
            withdrawn=c.is_withdrawn,
            closed=c.is_closed,
        )
        for c in cases
    }
    if facts:
        marks = session.exec(select(StageMark).where(StageMark.case_id.in_(facts))).all()
        for mark in marks:
            facts[mark.case_id].marks[mark.stage] = mark.reason
    for loader in FACT_LOADERS:
        loader(session, facts)
    return facts


#: Later stages register loaders that add their records to CaseFacts in bulk.
FACT_LOADERS: list[Callable[[Session, dict[int, CaseFacts]], None]] = []


def progress(session: Session, cases: Iterable[Case], today: date) -> dict[int, Progress]:
    return {cid: evaluate(f, today) for cid, f in load_facts(session, cases).items()}


def progress_of(session: Session, case: Case, today: date) -> Progress:
    return progress(session, [case], today)[case.id]
