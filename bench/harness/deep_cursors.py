"""Cursors of pages halfway down the scale run's long lists (what following Next that far would give).

python bench/harness/deep_cursors.py   ->  {"list": "cursor"} as JSON
"""

import json

import django

django.setup()

from images import keyset  # noqa: E402
from images.models import PUSHED_KEY, Repository, Tag  # noqa: E402


def at_half(qs):
    return qs[qs.count() // 2]


def main():
    repos = Repository.objects.all()
    grouped = at_half(repos.order_by("namespace", "name"))
    by_size = at_half(repos.order_by("-total_size", "-id"))
    by_push = at_half(repos.annotate(k=PUSHED_KEY).order_by("-k", "-id"))
    big = Tag.objects.filter(repository__name="big/monorepo")
    by_name = at_half(big.order_by("sort_key", "id"))
    newest = at_half(big.order_by("-updated_at", "sort_key"))
    print(
        json.dumps(
            {
                "home": keyset.encode("n", [grouped.namespace, grouped.name]),
                "home_size": keyset.encode("n", [by_size.total_size, by_size.id]),
                "home_pushed": keyset.encode("n", [by_push.k, by_push.id]),
                "api_repositories": keyset.encode("n", [grouped.name]),
                "tags_name": keyset.encode("n", [by_name.sort_key, by_name.id]),
                "tags_pushed": keyset.encode("n", [newest.updated_at, newest.sort_key]),
                "big_id": Repository.objects.get(name="big/monorepo").id,
            }
        )
    )


if __name__ == "__main__":
    main()
