"""WSGI entry point (gunicorn supportdesk.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from supportdesk.gc_freeze import freeze_startup_objects
from supportdesk.warm import load_request_machinery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

application = get_wsgi_application()
# The URLconf imports the views, forms and admin: load it now so that it is frozen too.
_ = get_resolver().url_patterns
load_request_machinery()  # the cache client and Celery: see warm.py
freeze_startup_objects()
