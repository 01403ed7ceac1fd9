from django.urls import path

from . import views

app_name = "kb"
urlpatterns = [
    path("", views.index, name="index"),
    path("suggest.json", views.suggest, name="suggest"),
    path("<slug:slug>/", views.article_detail, name="article"),
    path("<slug:slug>/vote/", views.vote, name="vote"),
]
