"""ASGI entry point, for servers that speak ASGI."""

import os

from django.core.asgi import get_asgi_application
from django.urls import get_resolver

from supportdesk.gc_freeze import freeze_startup_objects
from supportdesk.warm import load_request_machinery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

application = get_asgi_application()
_ = get_resolver().url_patterns  # see wsgi.py
load_request_machinery()
freeze_startup_objects()
