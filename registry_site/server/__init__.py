"""What Berth adapts in the HTTP servers that run it, in one place.

- workers.py: the gthread worker (BERTH_WORKER=gthread; gthread plus TLS-probe answers, fair accepting,
  keep-alive in the request thread), with gunicorn_response.py (header block sent with the first body block) and
  gunicorn_errors.py (gunicorn's refusals in the registry's JSON error format).
- bodies.py: request bodies as blocks, `bodies.blocks(meta, block_size)`, the one function behind
  images/api/streams.iter_body; under gunicorn it reads its private readers directly.
- chunked.py: the chunked-body grammar, read from gunicorn's socket buffer or from a raw stream.
- devserver.py: `manage.py runserver` with chunked bodies, the embedded task worker and the first-run hint.
- asgi_worker.py, asgi_bridge.py, asgi_routing.py (the default worker): gunicorn's asyncio worker serving the
  same WSGI handler, the hot reads in the event loop's thread, the rest in a pool of `threads` threads;
  tests/unit/test_asgi_assumptions.py names the gunicorn internals they depend on.

These depend on gunicorn internals (the version pinned in requirements.txt: gunicorn 27);
tests/unit/test_gunicorn_assumptions.py names each one and fails when an upgrade changes it.
"""
