"""Run the background work: tasks (webhook deliveries, collections) and the periodic jobs (images/schedule.py).

    python manage.py worker                  the configured backend's worker (BERTH_TASKS_BACKEND)

Run as many as you like, on as many machines: a task is claimed by one worker (django-tasks-db:
SELECT ... FOR UPDATE SKIP LOCKED; RQ: Redis), a scheduled slot is enqueued once (a unique row), and a
task whose worker died mid-run goes back to the queue (images/task_worker.py).
"""

from django.core.management.base import BaseCommand

from images import schedule, task_worker


class Command(BaseCommand):
    help = "Run a background worker for Berth's tasks and periodic jobs (the configured tasks backend)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls when idle (database)")
        parser.add_argument("--max-tasks", type=int, default=None, help="exit after this many tasks (database)")
        parser.add_argument("--no-schedule", action="store_true", help="run tasks only; leave periodic jobs to others")
        parser.add_argument("--worker-id", default=None, help="unique name of this worker (default: host-pid-random)")

    def handle(self, *args, **options):
        worker_id = options["worker_id"] or task_worker.new_worker_id()
        database = task_worker.database_backend()
        keeper = task_worker.Housekeeper(worker_id, schedule=not options["no_schedule"])
        keeper.round()  # heartbeat before the first claim
        keeper.start()
        self.stdout.write(f"worker {worker_id} ({'database' if database else 'rq'} backend) started")
        if not options["no_schedule"]:
            self.stdout.write(f"schedule: {schedule.summary()}")
        self.stdout.flush()
        try:
            if database:
                worker = task_worker.database_worker(worker_id, options["interval"], options["max_tasks"])
                worker.configure_signals()
                worker.run()
            else:
                self.run_rq(worker_id)
        finally:
            keeper.stop()

    def run_rq(self, worker_id):
        import django_rq
        from django.db import connections
        from django_tasks_rq.backend import Job

        connections.close_all()  # RQ forks a work horse per job: no connection shared across the fork
        worker = django_rq.get_worker("default", job_class=Job, name=worker_id)
        worker.work(with_scheduler=True)
