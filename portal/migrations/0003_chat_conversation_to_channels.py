# ChatConversation now belongs to the chat channel (channels_app migration 0004, which
# took over the table as it is). The portal keeps a proxy of it, so the agents' admin
# pages keep their addresses (/admin/portal/chatconversation/...) and the permissions
# agents hold on them (the content type portal.chatconversation stays in use).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_chat_conversation_per_source"),
        ("channels_app", "0004_chat_conversation_from_portal"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ChatConversation")],
            database_operations=[],
        ),
        migrations.CreateModel(
            name="ChatConversation",
            fields=[],
            options={"proxy": True, "indexes": [], "constraints": []},
            bases=("channels_app.chatconversation",),
        ),
    ]
