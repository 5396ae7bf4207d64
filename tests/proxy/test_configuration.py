"""Configuring proxies in three places (command, JSON API, settings) with write-only upstream secrets."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from proxy import config, routing
from proxy.models import Proxy
from registry_site import legacy_config

pytestmark = pytest.mark.django_db
SECRET = "s3cret-Upstream-pa55"


def run(*args, stdin=""):
    out = io.StringIO()
    import sys

    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command("proxy_cache", *args, stdout=out)
    finally:
        sys.stdin = saved
    return out.getvalue()


def test_command_adds_lists_and_removes_with_the_password_encrypted_and_never_shown():
    run(
        "add",
        "ghcr",
        "https://ghcr.io",
        "--username",
        "bot",
        "--password-stdin",
        "--ttl",
        "60",
        "--max-size",
        "10GiB",
        "--max-age-days",
        "7",
        stdin=SECRET + "\n",
    )
    proxy = Proxy.objects.get(namespace="ghcr")
    assert (proxy.upstream_url, proxy.username, proxy.tag_ttl) == ("https://ghcr.io", "bot", 60)
    assert (proxy.max_size, proxy.max_age_days) == (10 * 1024**3, 7)
    assert SECRET not in proxy.password_encrypted and proxy.get_password() == SECRET
    listed = run("list")
    assert "ghcr\thttps://ghcr.io\tttl=60" in listed and "password=(set)" in listed and SECRET not in listed
    assert routing.namespace_route("ghcr/org/img").upstream_name == "org/img"
    run("remove", "ghcr")
    assert not Proxy.objects.exists()
    assert routing.namespace_route("ghcr/org/img") is None


def test_command_rejects_bad_input_clearly():
    with pytest.raises(CommandError, match="upstream URL"):
        run("add", "corp", "ftp://example.test")
    with pytest.raises(CommandError, match="namespace"):
        run("add", "Bad/Name", "https://example.test")
    with pytest.raises(CommandError, match="not a size"):
        run("add", "corp", "https://example.test", "--max-size", "lots")
    with pytest.raises(CommandError, match="no proxy"):
        run("remove", "nothing")


def test_a_namespace_holding_pushed_repositories_cannot_become_a_proxy():
    from images.services import repositories

    repositories.get_or_create("team/app")
    with pytest.raises(CommandError, match="pushed repositories"):
        run("add", "team", "https://example.test")


def test_json_api_is_staff_only_and_the_password_write_only(client, admin_client, django_user_model):
    body = {"namespace": "quay", "upstream_url": "https://quay.io", "username": "u", "password": SECRET}
    created = admin_client.post("/api/proxies/", json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.content
    assert SECRET.encode() not in created.content and created.json()["has_password"] is True
    listing = admin_client.get("/api/proxies/")
    assert SECRET.encode() not in listing.content and "quay" in listing.content.decode()
    changed = admin_client.patch("/api/proxies/quay/", json.dumps({"tag_ttl": 30}), content_type="application/json")
    assert changed.status_code == 200 and changed.json()["tag_ttl"] == 30
    assert Proxy.objects.get(namespace="quay").get_password() == SECRET  # kept when not given
    django_user_model.objects.create_user("eve", password="pw-eve-123")
    client.login(username="eve", password="pw-eve-123")
    assert client.get("/api/proxies/").status_code == 403
    assert admin_client.get("/api/proxy-cache/").status_code == 200
    assert admin_client.delete("/api/proxies/quay/").status_code == 204
    assert not Proxy.objects.exists()


def test_admin_never_shows_the_stored_password(admin_client):
    proxy = Proxy(namespace="corp", upstream_url="https://corp.example.test", username="u")
    proxy.set_password(SECRET)
    proxy.save()
    page = admin_client.get(f"/admin/proxy/proxy/{proxy.pk}/change/")
    assert page.status_code == 200 and SECRET.encode() not in page.content
    assert proxy.password_encrypted.encode() not in page.content


def test_mirror_source_setting_configures_the_mirror_at_start_up(settings):
    settings.PROXY_MIRROR = {"SOURCE": "https://registry-1.docker.io", "TAGS_CACHE_TTL": 600}
    config._synced.clear()
    try:
        route = routing.route("library/alpine")
    finally:
        config._synced.clear()
    mirror = Proxy.objects.get(namespace="")
    assert (mirror.upstream_url, mirror.tag_ttl, mirror.from_settings) == ("https://registry-1.docker.io", 600, True)
    assert route.upstream_name == "library/alpine" and route.proxy == mirror


def test_legacy_config_mirroring_section_maps_to_the_mirror_setting():
    environ = {"SETTINGS_FLAVOR": "dev", "MIRROR_SOURCE": "https://registry-1.docker.io", "MIRROR_TAGS_CACHE_TTL": "99"}
    mapped = legacy_config.django_settings(legacy_config.load(environ=environ))
    assert mapped["PROXY_MIRROR"] == {
        "SOURCE": "https://registry-1.docker.io",
        "SOURCE_INDEX": "",
        "TAGS_CACHE_TTL": 99,
    }
    assert "PROXY_MIRROR" not in legacy_config.django_settings(legacy_config.load(environ={"SETTINGS_FLAVOR": "dev"}))


def test_docker_hub_official_images_are_under_library():
    hub = Proxy(namespace="hub", upstream_url="https://registry-1.docker.io")
    other = Proxy(namespace="corp", upstream_url="https://corp.example.test")
    assert routing.upstream_name(hub, "alpine") == "library/alpine"
    assert routing.upstream_name(hub, "someorg/tool") == "someorg/tool"
    assert routing.upstream_name(other, "alpine") == "alpine"
