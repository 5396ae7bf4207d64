"""Rule matching and bad input: reported on the rule and the run, never raised."""

import pytest
from django.core.exceptions import ValidationError

from replication import matching, runner, services, triggers
from replication.models import ReplicationRun


def test_globs_tags_and_namespace():
    assert matching.matches("team/app", "other/*, team/*")
    assert not matching.matches("teams/app", "team/*")
    assert matching.select_tags(["1", "2", "latest", "3"], "[0-9]*", keep_last=2) == ["2", "3"]
    assert matching.select_tags(["1", "sha256-" + "a" * 64], "*") == ["1"]
    assert matching.destination("team/app", "dr") == "dr/app"
    assert matching.destination("app", "dr/site") == "dr/site/app"
    assert matching.destination("team/app", "") == "team/app"


@pytest.mark.django_db
def test_bad_rule_fields_are_refused():
    services.add_remote("b", "http://127.0.0.1:1")
    with pytest.raises(ValidationError) as caught:
        services.add_rule("r", "b", "sideways", "", namespace="Bad NS", interval="soon", deletes=True)
    text = " ".join(caught.value.messages)
    assert "mode 'sideways'" in text and "repositories" in text and "namespace" in text and "interval" in text
    with pytest.raises(ValidationError, match="no remote named 'nope'"):
        services.add_rule("r", "nope", "push", "a/*")
    with pytest.raises(ValidationError, match="http"):
        services.add_remote("c", "ftp://x")


@pytest.mark.django_db(transaction=True)
def test_unreachable_remote_fails_the_run_with_a_reason():
    remote = services.add_remote("gone", "http://127.0.0.1:9")
    assert services.test_remote(remote).startswith("unreachable")
    rule = services.add_rule("pull-gone", remote, "pull", "team/app")
    run, _ = triggers.start(rule)
    runner.execute(run.pk)
    run.refresh_from_db()
    rule.refresh_from_db()
    assert run.status == ReplicationRun.FAILED and "unreachable" in run.error
    assert rule.last_status == "failed" and "unreachable" in rule.last_message


@pytest.mark.django_db(transaction=True)
def test_a_pattern_matching_nothing_is_said_on_the_rule():
    remote = services.add_remote("far", "http://127.0.0.1:9")
    rule = services.add_rule("push-none", remote, "push", "nothing/*")
    waiting = ReplicationRun.objects.create(rule=rule, trigger="push", repository="nothing/a")
    assert triggers.start(rule, "push", "nothing/a") == (waiting, False)  # a queued run takes the next push too
    runner.execute(waiting.pk)
    rule.refresh_from_db()
    assert rule.last_status == ReplicationRun.EMPTY and "nothing matched" in rule.last_message
