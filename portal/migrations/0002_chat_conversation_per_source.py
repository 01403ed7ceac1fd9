# Chat conversation ids are unique per source (the portal, or one integration), not
# globally: two messengers' conversation "42" are two chats. Rows that were globally
# unique stay unique per source, so every row is kept as it is.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="chatconversation",
            name="conversation_id",
            field=models.CharField(max_length=200),
        ),
        migrations.AddConstraint(
            model_name="chatconversation",
            constraint=models.UniqueConstraint(
                fields=("source", "conversation_id"), name="chat_conversation_per_source"
            ),
        ),
    ]
