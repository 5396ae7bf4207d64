"""Replication's tasks, on Berth's task framework (images/tasks.py re-exports them; images/schedule.py
runs replicate_due). A run killed with its worker runs again (the framework re-runs a dead worker's
task) and skips the images it had done."""

from django_tasks import task


@task(takes_context=True)
def run_replication(context, run_id):
    from replication import runner

    run = runner.execute(run_id, task_id=str(context.task_result.id))
    return {"run": run.pk, "status": run.status, "bytes": run.bytes}


@task()
def propagate_delete(run_id):
    from replication import triggers

    run = triggers.propagate_delete(run_id)
    return {"run": run.pk, "status": run.status}


@task()
def replicate_due():
    from replication import triggers

    return {"started": [run.pk for run in triggers.due()]}
