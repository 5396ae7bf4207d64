"""`{% tag_history repo tag %}`: the tag page's history, with Restore buttons for those who may push."""

from django import template

from activity import conf, history
from images import permissions

register = template.Library()


@register.inclusion_tag("activity/_tag_history.html", takes_context=True)
def tag_history(context, repo, tag):
    request = context.get("request")
    user = getattr(request, "user", None)
    name = getattr(tag, "name", tag)
    manifest = getattr(tag, "manifest", None)  # the tag page's row: no second look-up of what it names
    return {
        "repo": repo,
        "tag_name": name,
        "entries": history.tag_history(repo.name, name, current=manifest.digest if manifest else None),
        "can_push": user is not None and permissions.can_push(user, repo),
        "days": conf.tag_history_days(),
    }


ACTION_LABELS = {
    "push": "pushed",
    "untag": "removed tag",
    "restore": "restored",
    "delete": "deleted image",
    "delete_repository": "deleted repository",
    "pull": "pulled",
    "visibility": "changed visibility",
    "login": "signed in",
}


@register.filter
def action_label(event):
    if event.action == "login" and event.outcome != "ok":
        return "failed sign-in"
    return ACTION_LABELS.get(event.action, event.action.replace("_", " "))


@register.filter
def actor_label(event):
    if event.actor_kind in ("anonymous", "system"):
        return event.actor_kind
    extra = f" (token {event.token_prefix})" if event.token_prefix and event.actor_kind == "token" else ""
    return f"{event.actor}{extra}"
