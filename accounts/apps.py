import logging

from django.apps import AppConfig

logger = logging.getLogger("berth.auth")


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from accounts import backends, checks, recheck  # noqa: F401  (signal receivers, start-up check)


def warn_if_open():
    """Called when a server starts (registry_site/wsgi.py): say loudly that anyone may push."""
    from accounts.registry_auth import auth_enabled

    if not auth_enabled():
        banner = "!" * 78
        logger.warning(
            "\n%s\nREGISTRY_AUTH=none: AUTHENTICATION IS OFF. Anyone who can reach this registry may pull, push\n"
            "and delete every repository. Use this only on a trusted network (benchmarks, conformance).\n%s",
            banner,
            banner,
        )
