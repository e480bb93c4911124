"""Training times in the bureau's zone: local time, today's start, a session's end, whether its
sheet is open."""

from datetime import datetime, time, timedelta

from pilot.database import local_zone, today
from pilot.training import services
from pilot.training.models import TrainingSession


def local(moment: datetime) -> datetime:
    return moment.astimezone(local_zone())


def start_of_today() -> datetime:
    """Midnight of today (the app's today, in the bureau's time zone): "upcoming" starts here."""
    return datetime.combine(today(), time.min, tzinfo=local_zone())


def ends_at(training: TrainingSession) -> datetime:
    return training.starts_at + timedelta(hours=float(training.hours))


def sheet_open(training: TrainingSession) -> bool:
    """May attendance be recorded today (the rule is the service's)."""
    return services.sheet_open(training, today())
