# The chat channel's conversations move here from the portal. Only Django's idea of which
# app owns the model changes: the table keeps its name (portal_chatconversation) and every
# row, so an upgrade moves no data. The portal keeps a proxy for its admin pages
# (portal migration 0003).

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0003_drop_outbound_email"),
        ("portal", "0002_chat_conversation_per_source"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ChatConversation",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("conversation_id", models.CharField(max_length=200)),
                        (
                            "source",
                            models.CharField(
                                blank=True, help_text="portal or the integration", max_length=100
                            ),
                        ),
                        ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("ended_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "contact",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="chats",
                                to="tickets.contact",
                            ),
                        ),
                        (
                            "ticket",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="chats",
                                to="tickets.ticket",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "portal_chatconversation",
                        "ordering": ["-started_at"],
                        "indexes": [
                            models.Index(fields=["ended_at", "-started_at"], name="chat_live")
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("source", "conversation_id"),
                                name="chat_conversation_per_source",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
