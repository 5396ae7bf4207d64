"""A private repository's label says who can pull it (owner, organisation members, granted users), not "staff only"."""

import html

from images.models import Repository

WHO = "the namespace's owner, its organisation's members and users granted access"


def test_the_repository_page_says_who_can_pull_a_private_repository(admin_client, sample):
    page = html.unescape(admin_client.get("/r/team/multi/").content.decode())
    assert f"Private — {WHO}" in page
    assert "staff only" not in page


def test_the_admin_action_says_it_too(admin_client, sample):
    listing = html.unescape(admin_client.get("/admin/images/repository/").content.decode())
    assert f"Make selected repositories private ({WHO})" in listing
    assert "staff only" not in listing
    response = admin_client.post(
        "/admin/images/repository/",
        {"action": "make_private", "_selected_action": [Repository.objects.get(name="team/multi").pk]},
        follow=True,
    )
    assert f"Repositories are private: {WHO} can pull." in html.unescape(response.content.decode())
    assert not Repository.objects.get(name="team/multi").is_public
