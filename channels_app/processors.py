"""Which function turns a raw record of each channel into a timeline message."""

from collections.abc import Callable

from tickets.models import Message

from .models import InboundRecord

Processor = Callable[[InboundRecord], Message]
_PROCESSORS: dict[str, Processor] = {}


def register(channel: str) -> Callable[[Processor], Processor]:
    """Register the decorated function as the processor of ``channel``'s records."""

    def decorator(func: Processor) -> Processor:
        _PROCESSORS[channel] = func
        return func

    return decorator


def processor_for(channel: str) -> Processor | None:
    """Return the processor registered for ``channel``, if any."""
    return _PROCESSORS.get(channel)
