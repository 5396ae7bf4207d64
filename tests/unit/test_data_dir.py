"""Where the embedded defaults go without BERTH_DATA_DIR: ./var in a clone, a user or system folder if installed."""

import os
from pathlib import Path

import pytest

from registry_site import cli, data_dir

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """registry_site as if installed: no manage.py next to it; /var/lib/berth and $HOME under tmp_path."""
    site_packages = tmp_path / "site-packages"
    site_packages.mkdir()
    monkeypatch.setattr(data_dir, "SOURCE_ROOT", site_packages)
    monkeypatch.setattr(data_dir, "SYSTEM_DIR", tmp_path / "var-lib-berth")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BERTH_DATA_DIR", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    return tmp_path


def test_a_clone_keeps_var_next_to_manage_py(monkeypatch, capsys):
    monkeypatch.delenv("BERTH_DATA_DIR", raising=False)
    assert data_dir.resolve() == REPO_ROOT / "var"
    assert capsys.readouterr().err == ""


def test_berth_data_dir_wins(installed, monkeypatch, capsys):
    monkeypatch.setenv("BERTH_DATA_DIR", str(installed / "mine"))
    assert data_dir.resolve() == installed / "mine"
    assert capsys.readouterr().err == ""


def test_installed_for_a_user_goes_to_local_share_and_says_so_once(installed, capsys):
    expected = installed / "home" / ".local" / "share" / "berth"
    assert data_dir.resolve() == expected
    assert expected.is_dir() and expected.stat().st_mode & 0o777 == 0o700
    assert f"go to {expected}" in capsys.readouterr().err
    assert data_dir.resolve() == expected
    assert capsys.readouterr().err == ""  # the second start says nothing


def test_installed_follows_xdg_data_home(installed, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(installed / "xdg"))
    assert data_dir.resolve() == installed / "xdg" / "berth"


def test_installed_for_root_goes_to_var_lib_berth(installed, monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert data_dir.resolve() == installed / "var-lib-berth"
    assert f"go to {installed / 'var-lib-berth'}" in capsys.readouterr().err


def test_installed_uses_an_existing_writable_var_lib_berth(installed):
    (installed / "var-lib-berth").mkdir()
    assert data_dir.resolve() == installed / "var-lib-berth"


def test_version_in_a_clone_is_pyprojects(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == "berth " + cli.version()
    assert 'version = "' + cli.version() + '"' in (REPO_ROOT / "pyproject.toml").read_text()
