# The outbox (outbox.OutgoingMail) records every mail we send now; its 0002 copied these.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0002_outbound_email"),
        ("outbox", "0002_copy_outbound_emails"),
    ]

    operations = [
        migrations.DeleteModel(name="OutboundEmail"),
    ]
