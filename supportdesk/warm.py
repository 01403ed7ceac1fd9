"""Load at a web process's start what its first requests would otherwise load.

Without it, the first webhook delivery each gunicorn worker answers imported redis and
django-redis (the collection window's push), bound every Celery task and built the result
backend and the broker's transport (the window's task): ~230 ms of CPU at load 8 on the
bench machine, ~37 ms after. The burst's three workers paid it together in their first
deliveries, while 200 more a second queued behind them (issue 16). Nothing here opens a
connection: it only builds objects and imports modules, once, before ``gc.freeze``.
"""

from __future__ import annotations


def load_request_machinery() -> None:
    """Import and build the cache client and Celery's sending side, without connecting."""
    from django.core.cache import caches

    cache = caches["default"]
    getattr(cache, "client", None)  # django-redis builds its client (and imports redis) lazily

    from supportdesk.celery import app

    app.loader.import_default_modules()  # the apps' tasks modules (autodiscovery)
    app.finalize(auto=True)  # binds every task, as a first apply_async would
    _ = app.backend
    with app.connection_for_write() as connection:  # lazy: nothing is connected here
        _ = connection.transport
    _ = app.amqp.producer_pool
