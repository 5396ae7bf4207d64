"""WWW-Authenticate challenges (RFC 7235) as registries send them. Pure functions.

    Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"
    Basic realm="Registry Realm"

A header value may hold several challenges; several headers may be given.
"""

import re
from dataclasses import dataclass, field
from urllib.request import parse_http_list

from requests.utils import unquote_header_value

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)(?:\s+(.*))?$", re.S)
_PARAM = re.compile(r"^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*(.*)$", re.S)


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: "basic", "bearer", ...
    params: dict = field(default_factory=dict)  # lower-case names

    @property
    def realm(self):
        return self.params.get("realm")

    @property
    def service(self):
        return self.params.get("service")

    @property
    def scope(self):
        return self.params.get("scope")

    @property
    def error(self):
        return self.params.get("error")


def parse(values) -> list[Challenge]:
    """Every challenge in one header value or a list of them; unreadable parts are dropped."""
    if isinstance(values, str):
        values = [values]
    found = []
    for value in values or ():
        current = None
        for item in parse_http_list(value or ""):
            item = item.strip()
            param = _PARAM.match(item)
            if param and current is not None:
                current[1][param.group(1).lower()] = unquote_header_value(param.group(2).strip())
                continue
            scheme = _SCHEME.match(item)
            if scheme is None:
                continue
            current = (scheme.group(1).lower(), {})
            found.append(current)
            rest = (scheme.group(2) or "").strip()
            param = _PARAM.match(rest)
            if param:
                current[1][param.group(1).lower()] = unquote_header_value(param.group(2).strip())
    return [Challenge(scheme, params) for scheme, params in found]


def pick(challenges, usable=("bearer", "basic")):
    """The challenge to answer: Bearer before Basic; None when none is usable."""
    for scheme in usable:
        for challenge in challenges:
            if challenge.scheme == scheme:
                return challenge
    return None
