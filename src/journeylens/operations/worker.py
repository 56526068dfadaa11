"""The worker: delivers the outbox and runs periodic jobs, inside ``serve`` or on its own.

Modules contribute jobs through the ``journeylens_worker_jobs`` hook::

    @hookimpl
    def journeylens_worker_jobs():
        return [Job("surveys.send_due", interval_seconds=30, run=send_due_invitations)]

Every tick the worker delivers due outbox messages (claimed per row, see
:mod:`journeylens.operations.outbox`) and runs each job whose lease in ``worker_leases``
is due. A lease is taken with one conditional ``UPDATE``, so when two workers run (a
``serve`` and a ``journeylens worker``, or a restart that overlaps) a job runs once per
interval, not twice. Jobs still write idempotently: a worker killed mid-job leaves the
lease to expire and the next worker repeats the job. Why a loop claimed in the database
rather than a scheduling library: ADR 0026.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from journeylens.hooks import plugin_manager
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.models import utcnow
from journeylens.operations.outbox import DeliveryReport, deliver_due, worker_id
from journeylens.operations.outbox_models import WorkerLease
from journeylens.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class JobContext:
    """What a job receives: the app database, settings, the tick's time, and a lens on demand.

    ``lens()`` opens the warehouse only when a job asks (a separate worker process cannot
    open a DuckDB file that ``serve`` holds; jobs that need none never try).
    """

    db: AppDatabase
    settings: Settings
    now: datetime
    lens_provider: Callable[[], Any] | None = None

    def lens(self) -> Any:
        if self.lens_provider is None:
            import journeylens

            return journeylens.open(self.settings.warehouse, self.settings.journey, settings=self.settings)
        return self.lens_provider()


@dataclass(frozen=True)
class Job:
    """A periodic job: ``run(context)`` every ``interval_seconds`` across all workers."""

    name: str
    interval_seconds: float
    run: Callable[[JobContext], Any]
    lease_seconds: float = 600.0


def registered_jobs() -> list[Job]:
    """Every job contributed by a plugin, by name (a later plugin replaces an earlier one)."""
    jobs: dict[str, Job] = {}
    for provided in reversed(plugin_manager().hook.journeylens_worker_jobs()):
        for job in provided or ():
            jobs[job.name] = job
    return list(jobs.values())


def take_lease(db: AppDatabase, job: Job, owner: str, now: datetime) -> bool:
    """Claim ``job`` for ``owner`` if it is due and nobody holds it; one winner across workers."""
    with db.session() as session:
        if session.get(WorkerLease, job.name) is None:
            try:
                with session.begin_nested():
                    session.add(WorkerLease(name=job.name, next_run_at=now))
            except IntegrityError:
                pass
    with db.session() as session:
        result = session.execute(
            update(WorkerLease)
            .where(WorkerLease.name == job.name, WorkerLease.next_run_at <= now,
                   or_(WorkerLease.locked_until.is_(None), WorkerLease.locked_until < now))
            .values(owner=owner, locked_until=now + timedelta(seconds=job.lease_seconds))
            .execution_options(synchronize_session=False))
        return getattr(result, "rowcount", 0) == 1


def release_lease(db: AppDatabase, job: Job, owner: str, now: datetime, error: str = "") -> None:
    with db.session() as session:
        lease = session.get(WorkerLease, job.name)
        if lease is None or lease.owner != owner:
            return
        lease.locked_until = None
        lease.last_run_at = now
        lease.next_run_at = now + timedelta(seconds=job.interval_seconds)
        lease.last_error = error[:4000]
        lease.runs += 1


@dataclass
class TickReport:
    """What one worker tick did."""

    delivery: DeliveryReport
    jobs_run: list[str] = field(default_factory=list)
    job_errors: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"delivery": self.delivery.to_dict(), "jobs_run": list(self.jobs_run),
                "job_errors": dict(self.job_errors)}


class Worker:
    """Runs ticks: jobs first (they may queue messages), then outbox delivery.

    ``run_once()`` is one tick (what tests and ``journeylens worker --once`` call);
    ``start()`` runs ticks every ``settings.worker_interval_seconds`` in a daemon thread.
    """

    def __init__(self, db: AppDatabase, settings: Settings, *, lens_provider: Callable[[], Any] | None = None,
                 jobs: list[Job] | None = None):
        self.db = db
        self.settings = settings
        self.lens_provider = lens_provider
        self.jobs = jobs
        self.owner = worker_id()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: datetime | None = None) -> TickReport:
        now = now or utcnow()
        report = TickReport(delivery=DeliveryReport())
        context = JobContext(self.db, self.settings, now, self.lens_provider)
        for job in self.jobs if self.jobs is not None else registered_jobs():
            if not take_lease(self.db, job, self.owner, now):
                continue
            error = ""
            try:
                job.run(context)
            except Exception as exc:  # one failing job must not stop the others
                log.exception("worker job %s failed", job.name)
                error = f"{type(exc).__name__}: {exc}"
                report.job_errors[job.name] = error
            release_lease(self.db, job, self.owner, now, error)
            report.jobs_run.append(job.name)
        # what the jobs just queued is due too: deliver at the later of the tick and the clock
        report.delivery = deliver_due(self.db, self.settings, now=max(now, utcnow()), owner=self.owner)
        return report

    def start(self) -> Worker:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="journeylens-worker", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_seconds: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_seconds)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("worker tick failed; retrying next tick")
            self._stop.wait(self.settings.worker_interval_seconds)


def lease_rows(db: AppDatabase) -> list[dict[str, Any]]:
    """Every job lease (for ``journeylens worker --status``)."""
    with db.session() as session:
        return [{"name": lease.name, "owner": lease.owner, "locked_until": lease.locked_until,
                 "next_run_at": lease.next_run_at, "last_run_at": lease.last_run_at,
                 "last_error": lease.last_error, "runs": lease.runs}
                for lease in session.scalars(select(WorkerLease).order_by(WorkerLease.name))]
