from django.urls import path

from . import api_views, views

app_name = "search"
urlpatterns = [
    path("desk/search/", views.desk_search, name="desk"),
    path("portal/search/", views.portal_search, name="portal"),
    path("api/v1/search/", api_views.SearchView.as_view(), name="api"),
]
