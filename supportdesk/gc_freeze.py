"""Keep Python's collector off the objects a process builds while starting.

A full (generation 2) collection walks every tracked object. A loaded SupportDesk process
holds about 130,000 of them (modules, models, URL patterns, forms, admin), and on a 2-core
machine one walk takes 250–550 ms, during which the process answers nothing. Measured with
``gc.callbacks`` under a 200/s webhook burst, these pauses in the gunicorn and Celery
workers were the long acks and a share of the worker's CPU per mail.

What a process builds at start-up lives as long as the process, so moving it to the
permanent generation (``gc.freeze``) frees nothing that would have been freed; what
requests and tasks create is collected as before, and a full collection walks only that.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect start-up's garbage once, then leave the survivors out of later walks."""
    gc.collect()
    gc.freeze()
