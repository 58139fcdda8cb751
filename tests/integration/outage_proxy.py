"""A TCP proxy in front of a real database server that can forward, refuse or blackhole: the outages the
failure tests reproduce, without touching the server itself."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from typing import Literal

Mode = Literal["forward", "refuse", "blackhole"]


class OutageProxy:
    """Listens on 127.0.0.1 (a random port) and forwards to `target`, until told otherwise:

    - `refuse()`: the server is down. Nothing listens (connections are refused) and every connection
      through the proxy is cut.
    - `blackhole()`: the server hangs (stopped, swapped out, a dead host behind a live balancer). New
      connections are accepted and never answered; open ones carry nothing, in either direction, though
      TCP still acknowledges everything.
    - `forward()`: the server is back. Connections accepted while it hung are closed; open ones go on.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.mode: Mode = "forward"
        self._lock = threading.Lock()
        # Held while a chunk is passed on, so once blackhole() returns not one more byte goes through.
        self._flow = threading.Lock()
        self._stopped = threading.Event()
        self._open: set[socket.socket] = set()  # both ends of every forwarded connection
        self._held: set[socket.socket] = set()  # accepted while blackholed, never answered
        self._listener: socket.socket | None = self._listen(0)
        self.port: int = self._listener.getsockname()[1]
        threading.Thread(target=self._accept_forever, name="outage-proxy", daemon=True).start()

    # --- modes ---------------------------------------------------------------------------------------

    def forward(self) -> None:
        with self._lock:
            self.mode = "forward"
            if self._listener is None:
                self._listener = self._listen(self.port)
            held, self._held = self._held, set()
        for sock in held:
            _close(sock)

    def refuse(self) -> None:
        with self._lock:
            self.mode = "refuse"
            listener, self._listener = self._listener, None
            cut = self._open | self._held
            self._open, self._held = set(), set()
        if listener is not None:
            listener.close()
        for sock in cut:
            _close(sock)

    def blackhole(self) -> None:
        with self._flow, self._lock:
            self.mode = "blackhole"

    def close(self) -> None:
        self._stopped.set()
        self.refuse()

    # --- plumbing ------------------------------------------------------------------------------------

    @staticmethod
    def _listen(port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(64)
        return sock

    def _accept_forever(self) -> None:
        while not self._stopped.is_set():
            listener = self._listener
            if listener is None:
                time.sleep(0.02)
                continue
            try:
                ready, _, _ = select.select([listener], [], [], 0.05)
                if not ready:
                    continue
                client, _ = listener.accept()
            except (OSError, ValueError):  # closed under us by refuse()
                continue
            with self._lock:
                mode = self.mode
                if mode == "blackhole":
                    self._held.add(client)
                    continue
            if mode == "refuse":
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while not self._stopped.is_set():
                if self.mode == "blackhole":  # read nothing, send nothing (the kernel still ACKs)
                    time.sleep(0.02)
                    continue
                ready, _, _ = select.select([src], [], [], 0.05)
                if not ready:
                    continue
                with self._flow:
                    if self.mode == "blackhole":
                        continue
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            with self._lock:
                self._open -= {src, dst}
            _close(src)
            _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # not connected (any more)
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
