"""manage.py berth_user: passwords asked for on a terminal, refused when missing or weak, the role said."""

import io
import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import CommandError, call_command

from accounts.models import Membership, Organisation

REPO_ROOT = Path(__file__).resolve().parents[2]
STRONG = "harbour-Lights-42"


def berth_user(monkeypatch, *args, stdin=""):
    out = io.StringIO()
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command("berth_user", *args, stdout=out)
    return out.getvalue()


def test_a_new_user_without_a_password_is_refused(db, monkeypatch):
    with pytest.raises(CommandError) as refused:
        berth_user(monkeypatch, "bob")
    assert "--password-stdin" in str(refused.value) and "--no-password" in str(refused.value)
    assert not get_user_model().objects.filter(username="bob").exists()


def test_no_password_is_explicit_and_said(db, monkeypatch):
    out = berth_user(monkeypatch, "bob", "--no-password")
    assert "bob has no password and cannot sign in with one" in out
    assert not get_user_model().objects.get(username="bob").has_usable_password()
    # later calls on the existing account leave its password alone
    berth_user(monkeypatch, "bob", "--staff")
    assert not get_user_model().objects.get(username="bob").has_usable_password()


@pytest.mark.parametrize(
    "password, reason",
    [
        ("Sh0rt-pw", "too short"),
        ("password1234", "too common"),
        ("2718281828459", "entirely numeric"),
        ("carolcarol-x", "too similar to the username"),
    ],
)
def test_weak_passwords_are_refused(db, monkeypatch, password, reason):
    with pytest.raises(CommandError) as refused:
        berth_user(monkeypatch, "carolcarol", "--password-stdin", stdin=password + "\n")
    assert str(refused.value).startswith("password refused:") and reason in str(refused.value)
    assert not get_user_model().objects.filter(username="carolcarol").exists()


def test_a_refused_password_leaves_an_existing_account_as_it_was(db, monkeypatch):
    berth_user(monkeypatch, "carol", "--password-stdin", stdin=STRONG + "\n")
    with pytest.raises(CommandError):
        berth_user(monkeypatch, "carol", "--password-stdin", "--staff", stdin="123\n")
    carol = get_user_model().objects.get(username="carol")
    assert carol.check_password(STRONG) and not carol.is_staff


def test_the_role_used_is_said(db, monkeypatch):
    out = berth_user(monkeypatch, "dana", "--password-stdin", "--org", "team", stdin=STRONG + "\n")
    assert "dana is read in team (the default role: pull only; --role write to push" in out
    out = berth_user(monkeypatch, "dana", "--org", "team", "--role", "write")
    assert "dana is write in team\n" in out
    out = berth_user(monkeypatch, "dana", "--org", "team")  # an existing member keeps their role
    assert "dana is write in team (unchanged" in out
    assert Membership.objects.get(organisation=Organisation.objects.get(name="team")).role == "write"
    with pytest.raises(CommandError, match="--role needs --org"):
        berth_user(monkeypatch, "dana", "--role", "admin")


# --- on a terminal (a real pseudo-terminal, a real manage.py process) ----------------------------


@pytest.fixture(scope="module")
def sqlite_site(tmp_path_factory):
    """A migrated SQLite site of its own, which the manage.py processes use (one per module)."""
    tmp_path = tmp_path_factory.mktemp("berth-user-site")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/berth.sqlite3", "BERTH_DATA_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO_ROOT, env=env, check=True, timeout=120)
    return env, tmp_path / "berth.sqlite3"


def run_on_a_terminal(env, args, answers, timeout=60):
    """Run manage.py on a pseudo-terminal, typing each answer after a prompt; (exit status, screen)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: its terminal is the pty
        os.chdir(REPO_ROOT)
        os.execve(sys.executable, [sys.executable, "manage.py", *args], env)
    screen, pending = b"", list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not select.select([fd], [], [], 0.5)[0]:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
            if pending and chunk.endswith(b": "):  # a prompt (getpass turned echo off before writing it)
                os.write(fd, pending.pop(0).encode() + b"\n")
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), screen.decode(errors="replace")


def check_password(password, encoded):
    """The manage.py process hashed with the site's hasher (PBKDF2), not the tests' fast one."""
    return PBKDF2PasswordHasher().verify(password, encoded)


def stored_password(db_path, username):
    with sqlite3.connect(db_path) as conn:
        row = conn.execute("SELECT password FROM auth_user WHERE username = ?", (username,)).fetchone()
    return row[0] if row else None


def test_on_a_terminal_the_password_is_asked_twice_without_echo(sqlite_site):
    env, db_path = sqlite_site
    status, screen = run_on_a_terminal(env, ["berth_user", "erin"], [STRONG, STRONG])
    assert status == 0, screen
    assert screen.count("Password") == 2 and "Password (again):" in screen
    assert STRONG not in screen  # not echoed
    assert "created user erin" in screen
    assert check_password(STRONG, stored_password(db_path, "erin"))
    # --password-stdin on a terminal prompts too (and a mismatch is refused, nothing changed)
    status, screen = run_on_a_terminal(env, ["berth_user", "erin", "--password-stdin"], ["new-" + STRONG, "other"])
    assert status == 1 and "the passwords do not match" in screen, screen
    assert check_password(STRONG, stored_password(db_path, "erin"))


def test_on_a_terminal_a_weak_password_exits_non_zero(sqlite_site):
    env, db_path = sqlite_site
    status, screen = run_on_a_terminal(env, ["berth_user", "frank"], ["12345", "12345"])
    assert status == 1, screen
    assert "password refused" in screen and "too short" in screen
    assert stored_password(db_path, "frank") is None
