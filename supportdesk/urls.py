"""Root URL configuration."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from . import health
from .webhooks import inbound_urlpatterns

admin.site.site_header = "SupportDesk"
admin.site.site_title = "SupportDesk"
admin.site.index_title = "Support desk"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path(
        "anymail/",
        include((inbound_urlpatterns(settings.SUPPORTDESK_INBOUND_ESPS), "anymail")),
    ),
    path("api/", include("api.urls")),
    path("kb/", include("kb.urls")),
    path("portal/", include("portal.urls")),
]

handler500 = "supportdesk.errors.server_error"
