"""ASGI entry point: Berth's WSGI application (registry_site/wsgi.py) through registry_site/server/asgi_bridge.py.

The shipped way is `gunicorn -c registry_site/gunicorn.conf.py registry_site.wsgi`, whose default worker
(registry_site/server/asgi_worker.py) wraps the WSGI application itself; this module is for
`gunicorn -k registry_site.server.asgi_worker.RegistryASGIWorker registry_site.asgi:application` or any
other ASGI server (which then lacks the worker's TLS-probe answer and JSON refusals).
"""

from registry_site.server.asgi_bridge import BerthASGI
from registry_site.wsgi import application as wsgi_application

application = BerthASGI(wsgi_application)
