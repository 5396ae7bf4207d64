"""Who is acting, for the log: the request being served (a middleware keeps it) and, on registry calls,
the authenticated caller the registry views note (accounts/registry_auth.Caller, as webhooks' actor).

Outside a request (workers, management commands) the actor is "system" unless one is given.
"""

import contextvars
from dataclasses import dataclass

_current = contextvars.ContextVar("berth_activity_request", default=None)


@dataclass(frozen=True)
class Actor:
    kind: str = "anonymous"  # user, robot, token, anonymous, system
    name: str = ""
    token_prefix: str = ""
    address: str = ""
    user_agent: str = ""


class ActivityMiddleware:
    """Keeps the request in a context variable (no query: the user is read only when something is recorded)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = self.enter(request)
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)

    def enter(self, request):  # the way in and out, also called on their own (images/api/v2/fast.py)
        return _current.set({"request": request, "caller": None})

    def leave(self, request, response, token):
        _current.reset(token)
        return response


def note_caller(caller):
    """The registry views' authenticated caller (called once per registry request)."""
    holder = _current.get()
    if holder is not None:
        holder["caller"] = caller


def of_principal(principal):
    """(kind, name, token prefix) of a user, an AccessToken or None."""
    from accounts.models import AccessToken

    if principal is None or not getattr(principal, "is_authenticated", True):
        return "anonymous", "", ""
    if isinstance(principal, AccessToken):
        return ("robot" if principal.is_robot else "token"), principal.login_name, principal.key_id
    return "user", principal.get_username(), ""


def _request_principal(holder):
    caller = holder.get("caller")
    if caller is not None:
        return None if caller.scheme == "open" else caller.principal
    request = holder["request"]
    user = getattr(request, "user", None)  # the catalog and the admin (the JSON API passes its user)
    return user if user is not None and user.is_authenticated else None


def current(principal=None, system_default=True):
    """The Actor of what is being done now; `principal` (a user or token) when the caller knows better."""
    holder = _current.get()
    if holder is None:
        if principal is not None:
            return Actor(*of_principal(principal))
        return Actor(kind="system" if system_default else "anonymous")
    meta = holder["request"].META
    if principal is None:
        principal = _request_principal(holder)
    kind, name, prefix = of_principal(principal)
    return Actor(kind, name, prefix, meta.get("REMOTE_ADDR", "")[:64], meta.get("HTTP_USER_AGENT", "")[:300])


def pull_key():
    """(kind, name, token id or None, address, user agent) of the caller without a query (pulls are hot)."""
    holder = _current.get()
    if holder is None:
        return "system", "", None, "", ""
    meta = holder["request"].META
    address, agent = meta.get("REMOTE_ADDR", "")[:64], meta.get("HTTP_USER_AGENT", "")[:300]
    caller = holder.get("caller")
    if caller is None or caller.scheme == "open":
        return "anonymous", "", None, address, agent
    if caller.scheme == "bearer":
        sub, tid = caller.claims.get("sub") or "", caller.claims.get("tid")
        if not sub:
            return "anonymous", "", None, address, agent
        if tid is not None:
            return ("robot" if "+" in sub else "token"), sub, tid, address, agent
        return "user", sub, None, address, agent
    kind, name, _prefix = of_principal(caller.principal)
    token_id = getattr(caller.principal, "pk", None) if kind in ("robot", "token") else None
    return kind, name, token_id, address, agent
