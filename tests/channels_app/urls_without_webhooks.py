"""A URLconf without the inbound webhooks (test_webhook_cost: a changed URLconf is
resolved again, not served from the webhook paths already resolved)."""

from django.http import HttpResponse
from django.urls import path

urlpatterns = [path("healthz", lambda request: HttpResponse())]
