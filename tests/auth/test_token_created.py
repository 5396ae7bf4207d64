"""The token-created page: Copy buttons for the token and for a `docker login` command that works when pasted
(the token on standard input, the registry host, the user name: the user's or `<org>+<robot>` for a robot)."""

import html
import re

from django.test import Client

from tests.auth.conftest import basic


def created(client, form):
    response = client.post("/accounts/tokens/", form)
    assert response.status_code == 200, response.content
    page = response.content.decode().replace("<wbr>", "")  # the command filter's break hints
    secret = re.search(r'<code id="new-token"[^>]*>(berth_[A-Za-z0-9_-]+)</code>', page).group(1)
    command = html.unescape(re.search(r'<code id="login-command"[^>]*>([^<]+)</code>', page).group(1))
    return page, secret, command


def test_personal_token_login_command_and_copy_buttons(world, api):
    client = Client()
    client.force_login(world.users["tom"])
    page, secret, command = created(client, {"name": "laptop", "repositories": "*", "actions": ["pull"]})
    assert command == f"echo {secret} | docker login testserver --username tom --password-stdin"
    assert 'data-copy="new-token"' in page and 'data-copy="login-command"' in page
    assert api.get("/v2/", HTTP_AUTHORIZATION=basic("tom", secret)).status_code == 200


def test_robot_login_command_uses_the_public_host(world, settings, api):
    settings.REGISTRY_PUBLIC_HOST = "registry.example.com:5000"
    client = Client()
    client.force_login(world.users["olivia"])
    form = {"name": "deployer", "organisation": str(world.acme.pk), "repositories": "acme/*", "actions": ["push"]}
    _, secret, command = created(client, form)
    host = "registry.example.com:5000"
    assert command == f"echo {secret} | docker login {host} --username acme+deployer --password-stdin"
    assert api.get("/v2/", HTTP_AUTHORIZATION=basic("acme+deployer", secret)).status_code == 200
