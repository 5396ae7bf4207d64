"""The token cache: per (realm, service, scopes), expiring with a margin."""

from remote.auth import TokenCache


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_token_expires_before_expires_in():
    clock = Clock()
    cache = TokenCache(clock)
    key = ("https://a/token", "svc", ("repository:a:pull",))
    cache.put(key, "t1", 300)
    assert cache.get(key) == "t1"
    assert cache.get(("https://a/token", "svc", ("repository:b:pull",))) is None
    clock.now += 289
    assert cache.get(key) == "t1"
    clock.now += 2
    assert cache.get(key) is None


def test_default_lifetime_is_60_seconds():
    clock = Clock()
    cache = TokenCache(clock)
    cache.put("k", "t", None)
    clock.now += 49
    assert cache.get("k") == "t"
    clock.now += 2
    assert cache.get("k") is None


def test_drop_only_the_refused_token():
    cache = TokenCache(Clock())
    cache.put("k", "new", 60)
    cache.drop("k", "old")
    assert cache.get("k") == "new"
    cache.drop("k", "new")
    assert cache.get("k") is None
