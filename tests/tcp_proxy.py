"""A TCP proxy on loopback that can cut or slow a connection: real network faults
between a client and a real server (TLS passes through it untouched)."""

from __future__ import annotations

import socket
import threading
import time


class TcpProxy:
    """Forward 127.0.0.1:<port> to ``target``. ``cut_after``: close both sides once the
    server sent that many bytes on one connection; ``delay``: sleep this long before
    forwarding each chunk the server sent (a slow link)."""

    def __init__(self, target_port: int, *, cut_after: int | None = None, delay: float = 0.0):
        self.target_port, self.cut_after, self.delay = target_port, cut_after, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cuts = 0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            sent = [0]
            threading.Thread(target=self._pipe, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, sent), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, counter: list[int] | None) -> None:
        try:
            while chunk := src.recv(16384):
                if counter is not None:
                    if self.delay:
                        time.sleep(self.delay)
                    if self.cut_after is not None and counter[0] + len(chunk) > self.cut_after:
                        dst.sendall(chunk[: max(0, self.cut_after - counter[0])])
                        self.cuts += 1
                        break
                    counter[0] += len(chunk)
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def close(self) -> None:
        self._closed = True
        self.listener.close()
