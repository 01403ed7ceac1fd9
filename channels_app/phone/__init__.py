"""The phone channel: the processor that turns a call record (the agents' call log, a
telephony push through the API) into a timeline message (``processor.py``)."""
