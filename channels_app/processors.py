"""Which function turns a raw record of each channel into a timeline message.

A channel may also register a batch processor, which takes many records of that channel
and returns one outcome per record: the Message, or the InboundIgnored / InboundRejected /
TicketError that says why there is none. ``inbound_process_many`` uses it for imports
and busy mailboxes; the single processor stays the path for one record.
"""

from collections.abc import Callable, Sequence

from tickets.models import Message

from .models import InboundRecord

Processor = Callable[[InboundRecord], Message]
BatchProcessor = Callable[[Sequence[InboundRecord]], list[Message | Exception]]
_PROCESSORS: dict[str, Processor] = {}
_BATCH_PROCESSORS: dict[str, BatchProcessor] = {}


def register(channel: str) -> Callable[[Processor], Processor]:
    """Register the decorated function as the processor of ``channel``'s records."""

    def decorator(func: Processor) -> Processor:
        _PROCESSORS[channel] = func
        return func

    return decorator


def register_batch(channel: str) -> Callable[[BatchProcessor], BatchProcessor]:
    """Register the decorated function as the batch processor of ``channel``'s records."""

    def decorator(func: BatchProcessor) -> BatchProcessor:
        _BATCH_PROCESSORS[channel] = func
        return func

    return decorator


def processor_for(channel: str) -> Processor | None:
    """Return the processor registered for ``channel``, if any."""
    return _PROCESSORS.get(channel)


def batch_processor_for(channel: str) -> BatchProcessor | None:
    """Return the batch processor registered for ``channel``, if any."""
    return _BATCH_PROCESSORS.get(channel)
