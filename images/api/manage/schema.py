"""OpenAPI schema hooks: document only the management API (the registry protocols have their own specs)."""


def only_management_api(endpoints, **kwargs):
    return [e for e in endpoints if e[0].startswith("/api/")]
