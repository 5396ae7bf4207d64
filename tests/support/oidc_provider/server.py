"""Start and stop the test OpenID Connect provider as its own process (runserver on a free 127.0.0.1 port).

provider = OidcProvider(tmp_dir).start()      # new RSA key, migrated SQLite, discovery answers
provider.configure(redirect_uri, users)       # the confidential client (PKCE required) and users
provider.admin("groups", "olga", "ops")       # later: an operator's change (admin.py: groups, disable)
provider.issuer                               # http://127.0.0.1:PORT/o
provider.stop()                               # by PID
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.e2e.servers import REPO_ROOT, StartError, answers, free_port, spawn, stop_process, wait_ready

CLIENT_ID = "berth-sso-test"


class OidcProvider:
    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = None
        self.proc = None
        self.log = self.workdir / "provider.log"
        self.client_secret = secrets.token_urlsafe(24)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self):
        return f"{self.url}/o"

    def env(self):
        env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
        env.update(
            DJANGO_SETTINGS_MODULE="tests.support.oidc_provider.settings",
            OIDC_PROVIDER_DIR=str(self.workdir),
            PYTHONUNBUFFERED="1",
        )
        return env

    def _django(self, *args, timeout=120):
        result = subprocess.run(
            [sys.executable, *args], cwd=REPO_ROOT, env=self.env(), capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise StartError(f"OIDC provider: {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        (self.workdir / "rsa.pem").write_bytes(pem)
        (self.workdir / "secret").write_text(secrets.token_urlsafe(40))
        self._django("-m", "django", "migrate", "--noinput")
        self.port = free_port()
        cmd = [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{self.port}", "--noreload"]
        self.proc = spawn(cmd, self.log, env=self.env(), cwd=REPO_ROOT)
        discovery = f"{self.issuer}/.well-known/openid-configuration"
        try:
            wait_ready(self.proc, answers(discovery), "OIDC provider", self.log, 60)
        except StartError:
            self.stop()
            raise
        return self

    def configure(self, redirect_uri, users):
        """The confidential client Berth signs in with, and `users` ({name: {"password", "groups"}})."""
        config = self.workdir / "config.json"
        spec = {"client_id": CLIENT_ID, "client_secret": self.client_secret, "redirect_uri": redirect_uri}
        config.write_text(json.dumps({**spec, "users": users}))
        self._django("-m", "tests.support.oidc_provider.setup", str(config))

    def admin(self, *args):
        """An operator's change to a user (tests/support/oidc_provider/admin.py): groups, disable."""
        self._django("-m", "tests.support.oidc_provider.admin", *args)

    def berth_env(self, name="Test IdP"):
        return {
            "BERTH_OIDC_ISSUER": self.issuer,
            "BERTH_OIDC_CLIENT_ID": CLIENT_ID,
            "BERTH_OIDC_CLIENT_SECRET": self.client_secret,
            "BERTH_OIDC_PROVIDER_NAME": name,
        }

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
