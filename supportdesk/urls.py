"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path

from . import health

admin.site.site_header = "SupportDesk"
admin.site.site_title = "SupportDesk"
admin.site.index_title = "Support desk"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("anymail/", include("anymail.urls")),
    path("api/", include("api.urls")),
    path("kb/", include("kb.urls")),
    path("portal/", include("portal.urls")),
]
