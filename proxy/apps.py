from django.apps import AppConfig


class ProxyConfig(AppConfig):
    name = "proxy"
    verbose_name = "Mirror and pull-through cache"
    default_auto_field = "django.db.models.BigAutoField"
