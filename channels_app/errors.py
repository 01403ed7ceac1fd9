"""Errors a channel processor raises to say what became of a raw record."""


class InboundIgnored(Exception):  # noqa: N818 - it is an outcome, not a failure
    """The record is understood and deliberately not turned into a message (e.g. list mail)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InboundRejected(Exception):  # noqa: N818
    """The record cannot be processed as it is; the reason tells an agent what is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
