"""Background work on Huey: a queue in an SQLite file under instance/ by default, in Redis when
REDIS_URL is set, consumed by `pilot worker` (and by a thread of `pilot run`).

A feature declares its work with `task` (run when asked, with arguments) or `periodic` (run on a
schedule by the consumer's scheduler), in a module listed in `TASK_MODULES`; the app binds every
declared task to its own queue when it is first used, and runs each inside an app context.
Arguments travel pickled through the queue: pass ids and dates, never records.

A periodic task is the hook for scheduled work, as the daily e-mail digest (pilot.reminders.jobs):

    @periodic("reminders.digest", hour="7", minute="30")   # every day at 07:30 Asia/Shanghai
    def send_daily_digests() -> None: ...

Its schedule is a crontab read in the app's TIME_ZONE. Each running consumer's scheduler asks for
it (`pilot worker --no-periodic` on all workers but one), and a periodic task must bear being run
twice: it checks what it has done already.
"""

import importlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.consumer import Consumer

logger = logging.getLogger(__name__)

#: The modules that declare tasks: a consumer must know every task a web process may send.
TASK_MODULES = ("pilot.reports.archive", "pilot.reports.jobs", "pilot.reminders.jobs")

#: A consumer waits at most this long (seconds) between two looks at an idle SQLite queue (Redis
#: wakes it at once): a batch ZIP asked for starts within a second.
IDLE_POLL_SECONDS = 1.0

_EXTENSION = "pilot.background"


@dataclass(frozen=True)
class Declared:
    name: str
    func: Callable
    #: crontab fields in local time, for a periodic task
    schedule: dict | None = None


_DECLARED: dict[str, Declared] = {}


@dataclass(frozen=True)
class BackgroundTask:
    """A declared task: call it to run it here and now, `enqueue` it to have a worker run it."""

    name: str
    func: Callable

    def __call__(self, *args):
        return self.func(*args)

    def enqueue(self, *args) -> None:
        queue_of(current_app._get_current_object()).tasks[self.name](*args)


def task(name: str) -> Callable[[Callable], BackgroundTask]:
    """Declare work a worker runs when asked: `some_task.enqueue(case_id)`."""

    def declare(func: Callable) -> BackgroundTask:
        _DECLARED[name] = Declared(name, func)
        return BackgroundTask(name, func)

    return declare


def periodic(name: str, **schedule: str) -> Callable[[Callable], BackgroundTask]:
    """Declare work the consumer's scheduler runs on a crontab schedule (minute, hour, day,
    month, day_of_week, as in `huey.crontab`), read in the app's TIME_ZONE."""
    crontab(**schedule)  # a wrong field fails at import, not in the scheduler

    def declare(func: Callable) -> BackgroundTask:
        _DECLARED[name] = Declared(name, func, schedule)
        return BackgroundTask(name, func)

    return declare


def in_local_time(schedule: dict, zone: ZoneInfo) -> Callable[[datetime], bool]:
    """A crontab test for Huey's scheduler, which asks with naive UTC times."""
    matches = crontab(**schedule)

    def due(moment: datetime) -> bool:
        local = moment.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)
        return matches(local)

    return due


@dataclass
class Queue:
    huey: Huey
    tasks: dict[str, TaskWrapper] = field(default_factory=dict)


_creating = threading.Lock()


def queue_of(app: Flask) -> Queue:
    """The app's queue, made at its first use: after gunicorn forks, so each worker process has
    its own connection, and never for a command that queues nothing."""
    queue = app.extensions.get(_EXTENSION)
    if queue is None:
        with _creating:
            queue = app.extensions.get(_EXTENSION)
            if queue is None:
                queue = app.extensions[_EXTENSION] = _create(app)
    return queue


def where(app: Flask) -> str:
    """Which queue the app uses, for a worker's first line (never the Redis URL: a password)."""
    config = app.config
    return f"queue {config['QUEUE_NAME']} in " + (
        "Redis" if config["REDIS_URL"] else config["QUEUE_FILE"]
    )


def _create(app: Flask) -> Queue:
    config = app.config
    # Results are not kept: a task records what it did in the database (a batch ZIP's job row).
    options = {"results": False, "immediate": bool(config["QUEUE_IMMEDIATE"])}
    if config["REDIS_URL"]:
        huey = RedisHuey(config["QUEUE_NAME"], url=config["REDIS_URL"], **options)
    else:
        huey = SqliteHuey(config["QUEUE_NAME"], filename=config["QUEUE_FILE"], **options)
    queue = Queue(huey)
    for module in TASK_MODULES:
        importlib.import_module(module)
    zone = ZoneInfo(config["TIME_ZONE"])
    for declared in _DECLARED.values():
        run = _in_app_context(app, declared.func)
        if declared.schedule is None:
            queue.tasks[declared.name] = huey.task(name=declared.name)(run)
        else:
            due = in_local_time(declared.schedule, zone)
            queue.tasks[declared.name] = huey.periodic_task(due, name=declared.name)(run)
    return queue


def _in_app_context(app: Flask, func: Callable) -> Callable:
    def run(*args):
        with app.app_context():
            return func(*args)

    return run


class _BesideServer(Consumer):
    """A consumer whose threads run beside a server in its process: the server keeps its own
    signal handling (Ctrl-C stops the server, and the consumer's daemon threads with it)."""

    def _set_signal_handlers(self) -> None:
        pass


def consumer(app: Flask, workers: int, periodic: bool = True) -> Consumer:
    """A consumer of the app's queue with `workers` threads (a batch ZIP renders on every core
    in processes of its own, so a worker thread mostly waits)."""
    return queue_of(app).huey.create_consumer(
        workers=workers, periodic=periodic, worker_type="thread", max_delay=IDLE_POLL_SECONDS
    )


def start_beside_server(app: Flask, workers: int = 1) -> Consumer:
    """Start a consumer in threads of this process and return it (`stop()` ends it)."""
    running = _BesideServer(
        queue_of(app).huey, workers=workers, worker_type="thread", max_delay=IDLE_POLL_SECONDS
    )
    running.start()
    return running


@contextmanager
def run_here(app: Flask) -> Iterator[None]:
    """Run the tasks asked for inside the block at once, in this process: a command that loads
    data waits for what its records call for (the demo's closed cases' reports)."""
    huey = queue_of(app).huey
    before = huey.immediate
    huey.immediate = True
    try:
        yield
    finally:
        huey.immediate = before
