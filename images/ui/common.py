"""Helpers shared by the catalog pages: lookups that respect permissions, paging, the pull host."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404

from images.services import catalog

PAGE_SIZE = 50


def repository_or_404(request, name):
    """The repository with its stats; 404 when it is missing or hidden from the visitor."""
    repo = catalog.visible_repository(request.user, name)
    if repo is None:
        raise Http404(f"No repository named “{name}”.")
    return repo


def check(request, allowed):
    """Send visitors who are not signed in to the login page; refuse the others."""
    if allowed:
        return None
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raise PermissionDenied("You are not allowed to change this repository.")


def paginate(request, items, per_page=PAGE_SIZE):
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def public_host(request):
    """Host name for `docker pull`: REGISTRY_PUBLIC_HOST when set, else the host the visitor used."""
    host = getattr(settings, "REGISTRY_PUBLIC_HOST", "") or request.get_host()
    return host.split("://", 1)[-1].rstrip("/")


def cursor_params(request):
    """(cursor, notice) of a keyset-paged list (images/keyset.py). Links of earlier versions named pages
    by number (`?page=N`): those show the first page, and page 2 onwards says so."""
    cursor = request.GET.get("cursor", "")[:2000]
    number = request.GET.get("page")
    if not cursor and number not in (None, "", "1"):
        return "", "Pages are now reached with Next and Previous: this is the first page."
    return cursor, ""


def page_prefix(request):
    """The current query string without `page` or `cursor`, ready for `cursor=…` to be appended: "?q=x&" or "?"."""
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("cursor", None)
    encoded = params.urlencode()
    return f"?{encoded}&" if encoded else "?"


def plural(count, word, plural_word=None):
    """plural(1, "tag") -> "1 tag"; plural(2, "tag") -> "2 tags"."""
    return f"{count} {word if count == 1 else (plural_word or word + 's')}"
