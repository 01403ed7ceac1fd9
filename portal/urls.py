from django.urls import path

from . import i18n, lines, views
from .customer_chat_views import chat_lines, chat_room, chat_send, chat_start

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("status.json", views.status_json, name="status"),
    path("line/<slug:slug>/", lines.line_select, name="line"),
    path("language/<str:language>/", i18n.language_choose, name="language"),
    path("sign-in/", views.sign_in_request, name="sign_in"),
    path("sign-in/<str:token>/", views.sign_in_link, name="sign_in_link"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("tickets/", views.ticket_list, name="tickets"),
    path("tickets/new/", views.ticket_new, name="ticket_new"),
    path("tickets/<int:number>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:number>/submitted/", views.ticket_submitted, name="ticket_submitted"),
    path("tickets/<int:number>/reply/", views.ticket_reply, name="ticket_reply"),
    path("tickets/<int:number>/solve/", views.ticket_solve, name="ticket_solve"),
    path("attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("contacts/", views.contacts, name="contacts"),
    path("chat/", chat_start, name="chat"),
    path("chat/<str:conversation_id>/", chat_room, name="chat_room"),
    path("chat/<str:conversation_id>/lines.json", chat_lines, name="chat_lines"),
    path("chat/<str:conversation_id>/send/", chat_send, name="chat_send"),
]
