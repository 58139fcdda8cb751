"""A local HTTP receiver standing in for a third-party measurement service: it counts every request it
gets (path and headers), can be taken down and brought back on the same port (an outage), and can
answer with a chosen status."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Hit:
    path: str
    headers: dict[str, str]  # lower-cased names


@dataclass
class Receiver:
    port: int = 0
    status: int = 200
    hits: list[Hit] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def host(self) -> str:
        return f"localhost:{self.port}"

    def url(self, path: str) -> str:
        return f"http://localhost:{self.port}{path}"

    def start(self) -> Receiver:
        if self.port == 0:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with receiver._lock:
                    receiver.hits.append(Hit(self.path, {k.lower(): v for k, v in self.headers.items()}))
                    status = receiver.status
                self.send_response(status)
                # A third party trying to tag the caller: the platform's calls must never send it back.
                self.send_header("Set-Cookie", "tp_id=tracked-caller; Path=/; Max-Age=3600")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def paths(self) -> list[str]:
        with self._lock:
            return sorted(h.path for h in self.hits)

    def count(self) -> int:
        with self._lock:
            return len(self.hits)
