"""Carry the mails recorded before the outbox (``channels_app.OutboundEmail``) over, so
customers' answers to them still thread by Message-ID. Their bodies were never kept:
they cannot be sent again."""

from django.db import migrations

KINDS = {"auto_reply", "verification", "agent_reply"}


def copy(apps, schema_editor):
    old = apps.get_model("channels_app", "OutboundEmail")
    new = apps.get_model("outbox", "OutgoingMail")
    rows = []
    for row in old.objects.all().iterator(chunk_size=2000):
        sent = row.sent_at is not None
        rows.append(
            new(
                kind=row.kind if row.kind in KINDS else "auto_reply",
                message_id=row.message_id,
                ticket_id=row.ticket_id,
                from_email="",
                to=[row.to_email],
                to_email=row.to_email,
                subject=row.subject,
                status="sent" if sent else "failed",
                attempts=1,
                created_at=row.created_at,
                next_attempt_at=row.created_at,
                sent_at=row.sent_at,
                error=""
                if sent
                else (row.error or "not sent")
                + " (recorded before the outbox; its body was not kept)",
            )
        )
        if len(rows) >= 2000:
            new.objects.bulk_create(rows, ignore_conflicts=True)
            rows = []
    new.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0001_initial"),
        ("channels_app", "0002_outbound_email"),
    ]

    operations = [migrations.RunPython(copy, migrations.RunPython.noop)]
