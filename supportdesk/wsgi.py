"""WSGI entry point (gunicorn supportdesk.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

application = get_wsgi_application()
