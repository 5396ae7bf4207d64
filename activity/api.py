"""/api/activity/: the log, filtered, cursor-paginated, exported as CSV or JSON; tag history; restore.

Read-only except `restore`, which moves a tag through the push path (activity/history.py).
"""

import csv
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from activity import history, queries
from activity.serializers import FIELDS, EventSerializer, RestoreSerializer
from images import permissions
from images.api.manage.base import ManageAPIMixin
from images.errors import RegistryError


class Cursor(CursorPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_ordering(self, request, queryset, view):
        return ("at", "id") if request.query_params.get("order") == "asc" else ("-at", "-id")


FILTERS = [
    OpenApiParameter(name, OpenApiTypes.STR, description=text)
    for name, text in (
        ("repository", "full repository name"),
        ("namespace", "first component of the repository name, or an organisation"),
        ("actor", "user, robot (org+name) or token owner name"),
        ("action", "comma-separated, e.g. push,untag,restore,pull,login"),
        ("category", "content, settings, security or system"),
        ("tag", "tag name"),
        ("digest", "manifest digest"),
        ("since", "ISO 8601 date or date and time (inclusive)"),
        ("until", "ISO 8601 date or date and time (exclusive)"),
        ("order", "asc for oldest first (default newest first)"),
    )
]
HISTORY = inline_serializer(
    "TagHistory",
    {
        "repository": serializers.CharField(),
        "tag": serializers.CharField(),
        "entries": inline_serializer(
            "TagHistoryEntry",
            {
                **EventSerializer().get_fields(),
                "restorable": serializers.BooleanField(),
                "protected": serializers.BooleanField(),
                "current": serializers.BooleanField(),
                "why_not": serializers.CharField(),
            },
            many=True,
        ),
    },
)
RESTORED = inline_serializer(
    "Restored",
    {"repository": serializers.CharField(), "tag": serializers.CharField(), "digest": serializers.CharField()},
)


def _events(request):
    try:
        return queries.apply_filters(queries.visible_events(request.user), request.query_params)
    except queries.BadFilter as exc:
        raise ValidationError({"detail": str(exc)}) from None


class ActivityList(ManageAPIMixin, ListAPIView):
    """Entries newest first (`order=asc`: oldest first). Filters: repository, namespace, actor, action
    (comma-separated), category, tag, digest, since, until (ISO 8601). Pulls are counted per day (`count`)."""

    serializer_class = EventSerializer
    pagination_class = Cursor
    permission_classes = [AllowAny]

    @extend_schema(parameters=FILTERS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return _events(self.request)


class _Echo:
    def write(self, value):
        return value


def _csv_rows(rows):
    writer = csv.writer(_Echo())
    yield writer.writerow(FIELDS)
    for row in rows:
        yield writer.writerow([json.dumps(row[f]) if f == "detail" else row[f] for f in FIELDS])


def _json_rows(rows):
    yield "["
    for i, row in enumerate(rows):
        yield ("," if i else "") + json.dumps(row, cls=DjangoJSONEncoder)
    yield "]"


class ActivityExport(ManageAPIMixin, APIView):
    """Every matching entry, streamed: `?as=csv` (default) or `?as=json`, same filters as the list."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[*FILTERS, OpenApiParameter("as", OpenApiTypes.STR, enum=["csv", "json"])],
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/json"): OpenApiTypes.ANY},
    )
    def get(self, request):
        kind = request.query_params.get("as", "csv")
        if kind not in ("csv", "json"):
            raise ValidationError({"as": "csv or json"})
        order = ("at", "id") if request.query_params.get("order") == "asc" else ("-at", "-id")
        rows = _events(request).order_by(*order).values(*FIELDS).iterator(chunk_size=1000)
        body = _csv_rows(rows) if kind == "csv" else _json_rows(rows)
        response = StreamingHttpResponse(body, content_type="text/csv" if kind == "csv" else "application/json")
        response["Content-Disposition"] = f'attachment; filename="berth-activity.{kind}"'
        return response


class TagHistory(ManageAPIMixin, APIView):
    """`?repository=&tag=`: the tag's moves, newest first, each with whether it can be restored."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("repository", OpenApiTypes.STR), OpenApiParameter("tag", OpenApiTypes.STR)],
        responses={200: HISTORY, 404: OpenApiResponse(description="no such repository visible to you")},
    )
    def get(self, request):
        repo = _readable(request, request.query_params.get("repository", ""))
        tag = request.query_params.get("tag", "").replace("\x00", "")
        entries = history.tag_history(repo.name, tag)
        data = [
            {
                **EventSerializer(e.event).data,
                "restorable": e.restorable,
                "protected": e.protected,
                "current": e.current,
                "why_not": e.why_not,
            }
            for e in entries
        ]
        return Response({"repository": repo.name, "tag": tag, "entries": data})


class Restore(ManageAPIMixin, APIView):
    """POST {"repository", "tag", "digest"}: point the tag at a manifest the repository holds (push rights)."""

    permission_classes = [AllowAny]
    serializer_class = RestoreSerializer

    @extend_schema(request=RestoreSerializer, responses={200: RESTORED})
    def post(self, request):
        if not request.user or not request.user.is_authenticated:
            raise NotAuthenticated()
        form = RestoreSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        repo = _readable(request, form.validated_data["repository"])
        try:
            manifest = history.restore(
                request.user, repo.name, form.validated_data["tag"], form.validated_data["digest"]
            )
        except RegistryError as exc:
            if exc.status == 403:
                raise PermissionDenied({"detail": exc.message, "code": exc.code}) from None
            if exc.status == 404:
                raise NotFound({"detail": exc.message, "code": exc.code}) from None
            raise ValidationError({"detail": exc.message, "code": exc.code}) from None
        return Response(
            {"repository": repo.name, "tag": form.validated_data["tag"], "digest": manifest.digest},
            status=status.HTTP_200_OK,
        )


def _readable(request, name):
    name = (name or "").replace("\x00", "")
    repo = permissions.visible_repositories(request.user).filter(name=name).first()
    if repo is None:
        raise NotFound({"detail": f"No repository named “{name}”."})
    return repo


urlpatterns = [
    path("", ActivityList.as_view(), name="list"),
    path("export/", ActivityExport.as_view(), name="export"),
    path("tags/", TagHistory.as_view(), name="tag-history"),
    path("restore/", Restore.as_view(), name="restore-api"),
]
