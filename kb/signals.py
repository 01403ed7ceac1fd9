"""What the knowledge base tells others (reports count deflection): sent after the
answer is decided, with the request."""

from django.dispatch import Signal

articles_shown = Signal()
"""``request``, ``count``: suggestions shown while a customer writes a ticket or a chat."""
article_voted = Signal()
"""``request``, ``article``, ``helpful``: a "was this helpful?" vote that was counted."""
