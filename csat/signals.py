"""``survey_rated`` is sent after the commit of a rating, with ``survey`` (reports
refresh that ticket's figures at once)."""

from django.dispatch import Signal

survey_rated = Signal()
