from django.urls import path

from .views import composer, lists, misc, ticket

app_name = "workspace"
urlpatterns = [
    path("", lists.home, name="home"),
    path("views/<slug:key>/", lists.view_list, name="view"),
    path("counts/", lists.counts, name="counts"),
    path("goto/", lists.goto, name="goto"),
    path("search/messages/", misc.search, name="search"),  # /desk/search/ is the search app
    path("bulk/", lists.bulk_action, name="bulk"),
    path("saved/", lists.view_save, name="view_save"),
    path("saved/<int:pk>/delete/", lists.view_delete, name="view_delete"),
    path("new/", composer.ticket_new, name="ticket_new"),
    path("t/<int:number>/", ticket.ticket_page, name="ticket"),
    path("t/<int:number>/m/<int:message_id>/", ticket.ticket_message, name="message"),
    path("t/<int:number>/update/", ticket.ticket_update, name="ticket_update"),
    path("t/<int:number>/verify/", ticket.ticket_verify, name="ticket_verify"),
    path("t/<int:number>/unmerge/", ticket.ticket_unmerge, name="ticket_unmerge"),
    path("t/<int:number>/merge/", ticket.ticket_merge, name="ticket_merge"),
    path("t/<int:number>/split/<int:message_id>/", ticket.ticket_split, name="ticket_split"),
    path("t/<int:number>/flags/<int:flag_id>/", ticket.flag_action, name="flag_action"),
    path("t/<int:number>/reply/", composer.reply, name="reply"),
    path("t/<int:number>/note/", composer.note, name="note"),
    path("t/<int:number>/presence/", composer.presence_ping, name="presence"),
    path("t/<int:number>/macro/", composer.macro_apply, name="macro"),
    path("a/<int:attachment_id>/", ticket.attachment_download, name="attachment_download"),
    path("a/<int:attachment_id>/inline/", ticket.attachment_inline, name="attachment_inline"),
    path("a/<int:attachment_id>/preview/", ticket.attachment_preview, name="attachment_preview"),
    path("settings/", misc.settings_view, name="settings"),
    path("notifications/", misc.notifications, name="notifications"),
    path("notifications/poll/", misc.notifications_poll, name="notifications_poll"),
    path("notifications/read/", misc.notifications_read, name="notifications_read"),
]
