"""The embedded broker never hands a worker a message that is still being written.

Before: kombu's filesystem transport wrote each message file in place, and a worker
listing the folder meanwhile took it empty and stopped ("Unrecoverable error:
JSONDecodeError"), which the worker tests met under load.
"""

from __future__ import annotations

import threading
from queue import Empty

from kombu import Connection

TRANSPORT = "supportdesk.fs_broker:Transport"


def connection(folder, transport: str = TRANSPORT) -> Connection:
    return Connection(
        "filesystem://",
        transport=transport,
        transport_options={
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "store_processed": False,
        },
    )


def test_a_reader_racing_two_writers_gets_every_message_whole(tmp_path):
    """(On kombu's own transport this fails about one run in three.)"""
    transport = TRANSPORT
    writers, per_writer = 2, 400
    sent = threading.Barrier(writers + 1)

    def write(number: int) -> None:
        with connection(tmp_path, transport) as conn:
            channel = conn.default_channel
            sent.wait()
            for n in range(per_writer):
                channel._put("q", {"body": f"{number}-{n}" * 50})

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    got: list[str] = []
    with connection(tmp_path, transport) as conn:
        channel = conn.default_channel
        sent.wait()
        while len(got) < writers * per_writer:
            try:
                got.append(channel._get("q")["body"])  # raised JSONDecodeError before
            except Empty:
                if not any(t.is_alive() for t in threads) and not list(tmp_path.glob("*.msg")):
                    break
    for thread in threads:
        thread.join()
    assert len(got) == writers * per_writer == len(set(got))
    assert not list(tmp_path.glob(".*.part"))
