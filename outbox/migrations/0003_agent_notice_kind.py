from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0002_copy_outbound_emails"),
        ("tickets", "0006_tags_and_split_events"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="outgoingmail",
            name="outbox_kind_valid",
        ),
        migrations.AlterField(
            model_name="outgoingmail",
            name="kind",
            field=models.CharField(
                choices=[
                    ("auto_reply", "Automatic acknowledgement"),
                    ("verification", "Verification request"),
                    ("agent_reply", "Agent reply"),
                    ("magic_link", "Portal sign-in link"),
                    ("submission", "Portal submission confirmation"),
                    ("merge_notice", "Automatic merge notice"),
                    ("duplicate_alert", "Possible duplicate (to agents)"),
                    ("sla_alert", "SLA alert (to agents)"),
                    ("agent_notice", "Workspace notification (to an agent)"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddConstraint(
            model_name="outgoingmail",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "kind__in",
                        [
                            "auto_reply",
                            "verification",
                            "agent_reply",
                            "magic_link",
                            "submission",
                            "merge_notice",
                            "duplicate_alert",
                            "sla_alert",
                            "agent_notice",
                        ],
                    )
                ),
                name="outbox_kind_valid",
            ),
        ),
    ]
