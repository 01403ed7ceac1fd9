"""Public ticket numbers that stay unique when many tickets are opened at once.

PostgreSQL hands them out from a sequence: ``nextval`` never blocks and never repeats,
so concurrent transactions don't serialise on a counter row. SQLite allows one writer
at a time anyway, so a counter row bumped with ``UPDATE … RETURNING`` is enough there.
Numbers may have gaps (a rolled-back ticket burns its number); they never repeat.
"""

from django.db import connection

SEQUENCE_NAME = "tickets_ticket_number_seq"
COUNTER_NAME = "ticket_number"
FIRST_NUMBER = 100001


_BUMP = "UPDATE tickets_ticketcounter SET value = value + %s WHERE name = %s RETURNING value"
# If the counter row is gone (a flushed database), carry on after the highest number in use.
_RESEED = (
    "INSERT INTO tickets_ticketcounter (name, value) "
    "SELECT %s, COALESCE(MAX(number), %s) FROM tickets_ticket"
)


def next_ticket_number() -> int:
    """Return a ticket number no other ticket has or will get."""
    return next_ticket_numbers(1)[0]


def next_ticket_numbers(count: int) -> list[int]:
    """Return ``count`` ascending ticket numbers no other ticket has or will get (one
    round trip however many: a batch import opens its tickets together)."""
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [SEQUENCE_NAME, count])
            return sorted(int(row[0]) for row in cursor.fetchall())
        cursor.execute(_BUMP, [count, COUNTER_NAME])
        row = cursor.fetchone()
        if row is None:
            cursor.execute(_RESEED, [COUNTER_NAME, FIRST_NUMBER - 1])
            cursor.execute(_BUMP, [count, COUNTER_NAME])
            row = cursor.fetchone()
    last = int(row[0])
    return list(range(last - count + 1, last + 1))


def install_number_source(schema_editor) -> None:
    """Create the sequence (PostgreSQL) or the counter row (others); used by a migration."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE_NAME} START WITH {FIRST_NUMBER}"
        )
    else:
        schema_editor.execute(
            "INSERT INTO tickets_ticketcounter (name, value) VALUES (%s, %s)",
            [COUNTER_NAME, FIRST_NUMBER - 1],
        )


def remove_number_source(schema_editor) -> None:
    """Undo ``install_number_source``."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {SEQUENCE_NAME}")
    else:
        schema_editor.execute("DELETE FROM tickets_ticketcounter WHERE name = %s", [COUNTER_NAME])
