"""Running the background work: `manage.py worker` (a process) and the dev server's embedded worker (a thread).

Next to the backend's own worker loop (django-tasks-db's Worker, or an RQ worker) a housekeeping thread
runs every heartbeat (REGISTRY TASK_HEARTBEAT, 10s):

1. heartbeat: this worker's TaskWorker row gets seen_at = now;
2. recovery: a task running on a worker that has not been seen for 3 heartbeats (killed with -9,
   machine gone) goes back to its queue, so another worker runs it; its TaskRun says "lost". On the
   database backend the task is set READY again (the claim itself is django-tasks-db's: SELECT ... FOR
   UPDATE SKIP LOCKED on PostgreSQL, an exclusive transaction on SQLite, so several workers never take
   the same task). On RQ the job is enqueued again and its dead run leaves the started-job registry
   (RQ alone would mark it failed, at its next maintenance, minutes later). Whichever worker marks the
   TaskRun lost first recovers the task, so it goes back once;
3. the scheduler's tick (images/schedule.py).
"""

import logging
import os
import socket
import threading
from datetime import timedelta

from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import get_random_string

from images import durations
from images.conf import registry_setting

log = logging.getLogger("berth.worker")
STALE_BEATS = 3


def new_worker_id():
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{get_random_string(8)}"


def heartbeat_interval():
    return durations.parse(registry_setting("TASK_HEARTBEAT")).total_seconds()


def database_backend():
    from django_tasks import task_backends
    from django_tasks_db import DatabaseBackend

    return isinstance(task_backends["default"], DatabaseBackend)


def beat(worker_id, now=None):
    from images.models import TaskWorker

    now = now or timezone.now()
    updated = TaskWorker.objects.filter(pk=worker_id).update(seen_at=now)
    if not updated:
        TaskWorker.objects.create(
            worker_id=worker_id, hostname=socket.gethostname()[:255], pid=os.getpid(), seen_at=now
        )


def _silence(now):
    """(the time before which a worker that has not been seen is gone, the ids of the workers seen since)."""
    from images.models import TaskWorker

    stale = now - timedelta(seconds=heartbeat_interval() * STALE_BEATS)
    return stale, set(TaskWorker.objects.filter(seen_at__gte=stale).values_list("pk", flat=True))


def recoverer():
    """recover()'s way for the configured backend (chosen once by a Housekeeper)."""
    return _recover_database if database_backend() else _recover_rq


def recover(now=None, way=None):
    """Put the tasks that silent workers were running back in the queue; their ids. Forgets workers
    silent for a day."""
    from images.models import TaskWorker

    now = now or timezone.now()
    recovered = (way or recoverer())(now)
    TaskWorker.objects.filter(seen_at__lt=now - timedelta(days=1)).delete()
    return recovered


def _recover_database(now):
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from images.models import TaskRun

    stale, alive = _silence(now)
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=stale)
    recovered = []
    for pk, worker_ids in running.values_list("pk", "worker_ids"):
        if worker_ids and worker_ids[-1] in alive:
            continue
        # Conditional: whichever worker recovers it first; the task's own claim is what runs it.
        if DBTaskResult.objects.filter(pk=pk, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.READY, started_at=None
        ):
            TaskRun.objects.filter(task_id=str(pk), status=TaskRun.RUNNING).update(
                status=TaskRun.LOST, finished_at=now, error=f"worker {worker_ids[-1] if worker_ids else '?'} stopped"
            )
            recovered.append(str(pk))
            log.warning("task %s: its worker stopped mid-run; it goes back to the queue", pk)
    return recovered


def _recover_rq(now):
    import django_rq
    from django_tasks_rq.backend import Job
    from rq.exceptions import NoSuchJobError
    from rq.job import JobStatus

    from images.models import TaskRun

    stale, alive = _silence(now)
    recovered = []
    redis = django_rq.get_connection("default")
    for run in TaskRun.objects.filter(status=TaskRun.RUNNING, started_at__lt=stale).exclude(worker__in=alive):
        # Conditional: whichever worker marks the run lost first puts the job back, once.
        error = f"worker {run.worker or '?'} stopped"
        if not TaskRun.objects.filter(pk=run.pk, status=TaskRun.RUNNING).update(
            status=TaskRun.LOST, finished_at=now, error=error
        ):
            continue
        try:
            job = Job.fetch(run.task_id, connection=redis)
        except NoSuchJobError:  # expired from Redis: nothing left to run
            continue
        if job.get_status() != JobStatus.STARTED:  # it finished after all, or already went back
            continue
        queue = django_rq.get_queue(job.origin, job_class=Job)
        queue.started_job_registry.remove_executions(job)  # else RQ's clean-up would fail it later
        queue.enqueue_job(job)
        recovered.append(run.task_id)
        log.warning("task %s: its worker stopped mid-run; it goes back to the queue", run.task_id)
    return recovered


def housekeeping(worker_id, schedule=True, way=None):
    """One round: heartbeat, recovery, scheduler tick."""
    from images import schedule as scheduler

    beat(worker_id)
    recover(way=way)
    if schedule:
        scheduler.tick(worker=worker_id)


class Housekeeper(threading.Thread):
    def __init__(self, worker_id, schedule=True):
        super().__init__(name="berth-housekeeping", daemon=True)
        self.worker_id, self.schedule, self.recover = worker_id, schedule, recoverer()
        self.stopped = threading.Event()

    def round(self):
        close_old_connections()
        try:
            housekeeping(self.worker_id, self.schedule, self.recover)
        except Exception as exc:  # a database hiccup: the next beat tries again
            log.warning("worker housekeeping failed: %s: %s", exc.__class__.__name__, exc)

    def run(self):
        while not self.stopped.is_set():
            self.round()
            self.stopped.wait(heartbeat_interval())
        connection.close()

    def stop(self):
        self.stopped.set()


def database_worker(worker_id, interval=1.0, max_tasks=None):
    from django_tasks_db.management.commands.db_worker import Worker

    return Worker(
        queue_names=["*"],
        interval=interval,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id=worker_id,
        excluded_queue_names=[],
    )


def start_embedded():
    """The dev server's worker: a thread running the database worker, plus housekeeping. None when off."""
    if not registry_setting("EMBEDDED_WORKER") or not database_backend():
        return None
    worker_id = new_worker_id()
    keeper = Housekeeper(worker_id)
    keeper.round()  # heartbeat before the first claim
    keeper.start()
    worker = database_worker(worker_id)

    def run():
        try:
            worker.run()
        finally:
            connection.close()

    threading.Thread(target=run, name="berth-embedded-worker", daemon=True).start()
    log.info("embedded task worker %s started (database backend)", worker_id)
    return worker
