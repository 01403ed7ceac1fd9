from django.urls import path

from . import views

app_name = "csat"
urlpatterns = [
    path("csat/<str:token>/<int:score>/", views.link, name="link"),
    path("csat/<str:token>/", views.answer, name="answer"),
    path("portal/csat/<int:survey_id>/", views.portal_answer, name="portal_answer"),
]
