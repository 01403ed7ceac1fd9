from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from . import views

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("v1/channels/chat/", views.ChatLineView.as_view(), name="chat"),
    path("v1/channels/phone/", views.CallView.as_view(), name="phone"),
    path("v1/tickets/", views.TicketListView.as_view(), name="tickets"),
    path("v1/tickets/<str:reference>/", views.TicketDetailView.as_view(), name="ticket"),
]
