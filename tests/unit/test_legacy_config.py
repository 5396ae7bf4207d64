"""The original registry's config.yml: every flavor of our copy of its layout, env values, errors."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from registry_site import legacy_config

ROOT = Path(__file__).resolve().parents[2]
S3_ENV = {"AWS_BUCKET": "images", "AWS_KEY": "AK", "AWS_SECRET": "SK", "AWS_REGION": "eu-west-1"}


def settings_for(flavor, environ=None):
    conf = legacy_config.load(legacy_config.BUNDLED, flavor, environ or {})
    return conf, legacy_config.django_settings(conf)


def test_dev_is_local_debug_with_search_note():
    conf, out = settings_for("dev", {"STORAGE_PATH": "/srv/reg"})
    assert conf["storage"] == "local" and conf["debug"] is True and conf["loglevel"] == "debug"
    assert out["REGISTRY_STORAGE"]["BACKEND"].endswith("FileSystemStorage")
    assert out["REGISTRY_STORAGE"]["OPTIONS"]["location"] == "/srv/reg"
    assert out["DEBUG"] is True and out["LOG_LEVEL"] == "DEBUG"
    assert any("main database" in note for note in out["LEGACY_NOTES"])


def test_local_default_path_and_common_values_merge():
    conf, out = settings_for("local")
    assert out["STORAGE_PATH"] == Path("/tmp/registry")
    assert conf["standalone"] is True and conf["issue"] == '"docker-registry server"'
    assert conf["email_exceptions"]["smtp_port"] == 25
    assert conf["cors"]["headers"] == ["Content-Type"]


@pytest.mark.parametrize("flavor", ["s3", "prod", "cloudfronts3"])
def test_s3_flavors(flavor):
    _, out = settings_for(flavor, S3_ENV)
    options = out["REGISTRY_STORAGE"]["OPTIONS"]
    assert out["REGISTRY_STORAGE"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert options["bucket_name"] == "images" and options["access_key"] == "AK" and options["secret_key"] == "SK"
    assert options["region_name"] == "eu-west-1" and options["use_ssl"] is True
    assert options["object_parameters"] == {"ServerSideEncryption": "AES256"}
    assert options["location"] == ("prod" if flavor == "prod" else "registry")


def test_ceph_s3_uses_custom_endpoint_without_tls_or_encryption():
    _, out = settings_for("ceph-s3", {**S3_ENV, "AWS_HOST": "127.0.0.1", "AWS_PORT": "7480"})
    options = out["REGISTRY_STORAGE"]["OPTIONS"]
    assert options["endpoint_url"] == "http://127.0.0.1:7480"
    assert options["use_ssl"] is False and "object_parameters" not in options and "region_name" not in options


def test_s3_without_bucket_is_a_clear_error():
    with pytest.raises(ImproperlyConfigured, match="AWS_BUCKET"):
        settings_for("s3", {})


def test_azure_gcs_swift():
    _, azure = settings_for("azureblob", {"AZURE_STORAGE_ACCOUNT_NAME": "acct", "AZURE_STORAGE_ACCOUNT_KEY": "k"})
    assert azure["REGISTRY_STORAGE"]["BACKEND"].endswith("AzureStorage")
    assert azure["REGISTRY_STORAGE"]["OPTIONS"]["azure_container"] == "registry"
    _, gcs = settings_for("gcs", {"GCS_BUCKET": "gb"})
    assert gcs["REGISTRY_STORAGE"]["OPTIONS"]["bucket_name"] == "gb"
    env = {"OS_AUTH_URL": "http://127.0.0.1:8080/auth/v1.0", "OS_CONTAINER": "reg", "OS_USERNAME": "test:tester"}
    _, swift = settings_for("swift", env)
    assert swift["REGISTRY_STORAGE"]["BACKEND"] == "swift.storage.SwiftStorage"
    assert swift["REGISTRY_STORAGE"]["OPTIONS"]["container_name"] == "reg"


@pytest.mark.parametrize("flavor", ["glance", "openstack", "glance-swift", "openstack-swift", "elliptics", "oss"])
def test_unservable_flavors_fail_loudly(flavor):
    with pytest.raises(ImproperlyConfigured, match="cannot serve"):
        settings_for(flavor, {"OS_AUTH_URL": "x", "OS_CONTAINER": "c"})


def test_test_flavor_overrides_dev():
    conf, out = settings_for("test")
    assert conf["index_endpoint"] == "https://registry-stage.hub.docker.com"
    assert out["STORAGE_PATH"] == Path("./tmp/test").resolve()


def test_env_values_are_yaml_typed_and_defaults_keep_colons():
    conf, out = settings_for("local", {"DEBUG": "true", "STORAGE_REDIRECT": "yes", "CORS_MAX_AGE": "600"})
    assert conf["debug"] is True and out["REGISTRY_OVERRIDES"]["STORAGE_REDIRECT"] is True
    assert conf["sqlalchemy_index_database"] == "sqlite:////tmp/docker-registry.db"
    assert conf["cors"]["max_age"] == 600


def test_email_cors_and_cache_mapping():
    env = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": "2525",
        "SMTP_TO_ADDR": "ops@example.com",
        "CORS_ORIGINS": "[https://ui.example.com]",
        "CORS_METHODS": "[GET, HEAD]",
        "CACHE_REDIS_HOST": "127.0.0.1",
        "CACHE_REDIS_PORT": "6380",
        "CACHE_REDIS_PASSWORD": "p@ss",
    }
    _, out = settings_for("local", env)
    assert out["EMAIL_HOST"] == "127.0.0.1" and out["EMAIL_PORT"] == 2525
    assert out["ADMINS"] == [("registry", "ops@example.com")]
    assert out["CORS_ALLOWED_ORIGINS"] == ["https://ui.example.com"] and out["CORS_ALLOW_METHODS"] == ["GET", "HEAD"]
    assert out["CACHES"]["default"]["LOCATION"] == "redis://:p%40ss@127.0.0.1:6380/0"


def test_unknown_flavor_and_bad_files(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="'nope' is not in"):
        legacy_config.load(legacy_config.BUNDLED, "nope", {})
    bad = tmp_path / "config.yml"
    bad.write_text("common: [unclosed\n")
    with pytest.raises(ImproperlyConfigured, match="not valid YAML"):
        legacy_config.load(bad, "common", {})
    with pytest.raises(ImproperlyConfigured, match="cannot read"):
        legacy_config.load(tmp_path / "missing.yml", "dev", {})
    env_bad = tmp_path / "env.yml"
    env_bad.write_text("dev:\n  storage: local\n  debug: _env:DEBUG\n")
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        legacy_config.load(env_bad, "dev", {"DEBUG": "[oops"})


def _manage(args, env, tmp_path):
    full = {"PATH": "/usr/bin:/bin", "BERTH_DATA_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120
    )


def test_settings_load_a_users_config_file(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text(
        "common: &common\n  loglevel: warn\nlocal:\n  <<: *common\n  storage: local\n"
        "  storage_path: _env:STORAGE_PATH:/tmp/legacy-store\n"
    )
    store = tmp_path / "store"
    env = {"DOCKER_REGISTRY_CONFIG": str(config), "SETTINGS_FLAVOR": "local", "STORAGE_PATH": str(store)}
    code = "from django.conf import settings as s; print(s.STORAGES['registry']['OPTIONS']['location'], s.LOG_LEVEL)"
    result = _manage(["shell", "-v", "0", "-c", code], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(store), "WARN"]


def test_misconfigured_flavor_is_a_startup_error(tmp_path):
    result = _manage(["check"], {"SETTINGS_FLAVOR": "s3"}, tmp_path)
    assert result.returncode != 0
    assert "AWS_BUCKET" in result.stderr
    result = _manage(["check"], {"SETTINGS_FLAVOR": "elliptics"}, tmp_path)
    assert result.returncode != 0 and "cannot serve" in result.stderr
