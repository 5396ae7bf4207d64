"""GET /metrics: Prometheus text format (images/metrics.py says what is there)."""

import hmac

from django.http import HttpResponse

from images import metrics
from images.conf import registry_setting


def metrics_view(request):
    token = registry_setting("METRICS_TOKEN")
    if token:
        given = request.META.get("HTTP_AUTHORIZATION", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return HttpResponse("metrics need a bearer token\n", status=401, content_type="text/plain")
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
