"""The embedded broker (``filesystem://``): kombu's folder transport, writing each
message whole before a worker can see it.

kombu writes a message file in place, so a worker listing the folder at that moment can
take the file while it is still empty and stop with "Unrecoverable error:
JSONDecodeError". Here the message is written under a hidden name that no reader picks
up, then renamed into place (atomic on one filesystem).
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    # kombu's own filesystem Channel overrides _put with this signature (payload, **kwargs);
    # the stubs' base AbstractChannel names it (queue, message).
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        hidden = os.path.join(self.data_folder_out, f".{name}.part")  # not "<x>.<queue>.msg"
        try:
            with open(hidden, "wb") as part:
                part.write(str_to_bytes(dumps(payload)))
            os.replace(hidden, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
