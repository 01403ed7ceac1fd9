"""Root URL configuration."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from workspace.admin_entry import admin_lands_in_workspace
from workspace.views.misc import root

from . import health
from .webhooks import inbound_urlpatterns

admin.site.site_header = "SupportDesk"
admin.site.site_title = "SupportDesk"
admin.site.index_title = "Support desk"
admin.site.site_url = "/desk/"  # "View site" opens the agents' workspace
admin_lands_in_workspace(admin.site)

urlpatterns = [
    path("", root, name="root"),
    path("desk/", include("workspace.urls")),
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
