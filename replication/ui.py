"""The catalog's Replication page (staff): the rules, their last result, recent runs; "run now"."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from replication import triggers
from replication.models import ReplicationRule, ReplicationRun


def _staff(request):
    if not (request.user.is_active and request.user.is_staff):
        raise Http404("no such page")


def page(request):
    _staff(request)
    rules = ReplicationRule.objects.select_related("remote")
    runs = ReplicationRun.objects.select_related("rule").prefetch_related("items")[:30]
    return render(request, "replication/page.html", {"rules": rules, "runs": runs})


@require_POST
def run_now(request, name):
    _staff(request)
    run, created = triggers.start(get_object_or_404(ReplicationRule, name=name), "manual")
    messages.success(request, f"{name}: run {run.pk} {'queued' if created else 'was queued already'}")
    return redirect("replication-page")
