"""Tag and catalog listings: sorted, paginated with n and last."""

import pytest

from images.errors import NameUnknown, PaginationInvalid
from images.models import Repository
from images.services import manifests, tags

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("raw", "expected"), [(None, None), ("", None), ("0", 0), ("7", 7), ("10000000", 10000)])
def test_page_size(raw, expected):
    assert tags.page_size(raw) == expected


@pytest.mark.parametrize("raw", ["-1", "abc", "1.5", "1e3"])
def test_invalid_page_size(raw):
    with pytest.raises(PaginationInvalid) as excinfo:
        tags.page_size(raw)
    assert excinfo.value.status == 400


def test_list_tags_pages_in_name_order(registry):
    data = registry.push_image("team/app", "b")
    for tag in ("c", "a", "B", "a1"):
        manifests.put("team/app", tag, data, "application/vnd.oci.image.manifest.v1+json")
    assert tags.list_tags("team/app") == (["B", "a", "a1", "b", "c"], False)
    assert tags.list_tags("team/app", n=2) == (["B", "a"], True)
    assert tags.list_tags("team/app", n=2, last="a") == (["a1", "b"], True)
    assert tags.list_tags("team/app", n=2, last="b") == (["c"], False)
    assert tags.list_tags("team/app", n=0) == ([], False)
    assert tags.list_tags("team/app", last="zzz") == ([], False)
    with pytest.raises(NameUnknown):
        tags.list_tags("no/such")


def test_list_repositories(settings):
    settings.REGISTRY = {"DEFAULT_PAGE_SIZE": 2}
    for name in ("zeta", "alpha/one", "alpha", "mid/x/y"):
        Repository.objects.create(name=name)
    assert tags.list_repositories(n=10) == (["alpha", "alpha/one", "mid/x/y", "zeta"], False)
    assert tags.list_repositories() == (["alpha", "alpha/one"], True)
    assert tags.list_repositories(n=3, last="alpha/one") == (["mid/x/y", "zeta"], False)
