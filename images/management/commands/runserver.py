"""runserver with chunked request bodies (see registry_site/devserver.py)."""

from django.contrib.staticfiles.management.commands.runserver import Command as StaticRunserver

from registry_site.devserver import WSGIServer


class Command(StaticRunserver):
    server_cls = WSGIServer
