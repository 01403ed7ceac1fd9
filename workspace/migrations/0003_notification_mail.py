from django.db import migrations, models

import workspace.models


def keep_mail_choice(apps, schema_editor):
    """Agents who had unticked "also by email" get no mail copies."""
    profiles = apps.get_model("workspace", "AgentProfile")
    profiles.objects.filter(email_notifications=False).update(email_kinds=[])


class Migration(migrations.Migration):
    dependencies = [
        ("workspace", "0002_row_states"),
    ]

    operations = [
        migrations.AddField(
            model_name="agentprofile",
            name="email_kinds",
            field=models.JSONField(blank=True, default=workspace.models.default_email_kinds),
        ),
        migrations.RunPython(keep_mail_choice, migrations.RunPython.noop),
        migrations.RemoveField(model_name="agentprofile", name="email_notifications"),
        migrations.AddField(
            model_name="notification",
            name="in_workspace",
            field=models.BooleanField(default=True),
        ),
    ]
