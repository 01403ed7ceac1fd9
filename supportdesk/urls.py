"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path

from channels_app.email.webhooks import inbound_urlpatterns

from . import health

admin.site.site_header = "SupportDesk"
admin.site.site_title = "SupportDesk"
admin.site.index_title = "Support desk"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("anymail/", include(inbound_urlpatterns())),  # anymail's, taking large mail
    path("api/", include("api.urls")),
    path("kb/", include("kb.urls")),
    path("portal/", include("portal.urls")),
]
