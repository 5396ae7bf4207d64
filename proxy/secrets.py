"""Upstream passwords at rest: Fernet (AES + HMAC), keyed from SECRET_KEY. Never shown back."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet():
    key = hashlib.sha256(b"berth-proxy-credentials:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(raw):
    return _fernet().encrypt(raw.encode()).decode()


def decrypt(token):
    """The password, or None when SECRET_KEY changed since it was stored (re-enter it)."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


class EncryptedPassword:
    """Model mixin for a row with a `password_encrypted` field (proxies, replication remotes)."""

    @property
    def has_password(self):
        return bool(self.password_encrypted)

    def set_password(self, raw):
        self.password_encrypted = encrypt(raw) if raw else ""

    def get_password(self):
        return decrypt(self.password_encrypted) if self.password_encrypted else None
