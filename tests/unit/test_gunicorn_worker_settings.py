"""A worker's settings read once (registry_site/server/workers.py `_settled`) are the configured ones."""

from gunicorn.config import Config

from registry_site.server import workers


def test_each_setting_keeps_its_configured_value():
    cfg = Config()
    cfg.set("threads", 5)
    cfg.set("keepalive", 9)
    cfg.set("bind", ["127.0.0.1:5999"])
    cfg.set("sendfile", False)
    before = {name: getattr(cfg, name) for name in cfg.settings}
    workers._settled(cfg)
    assert {name: getattr(cfg, name) for name in cfg.settings} == before
    assert (cfg.threads, cfg.keepalive, cfg.bind) == (5, 9, ["127.0.0.1:5999"])
    # Derived values (properties computed from several settings) still answer as before.
    assert not cfg.is_ssl
    assert (cfg.sendfile, cfg.address) == (False, [("127.0.0.1", 5999)])
