"""A small local HTTP server for the Pin It fetch tests: routes answer with pictures, redirects, slow or
oversized bodies and wrong content types, and it records what it was asked (paths, Host headers, bytes
sent), so a test can tell that a refused fetch never connected."""

from __future__ import annotations

import io
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

Handler = Callable[[BaseHTTPRequestHandler], None]


def png_bytes(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (200, 80, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


@dataclass
class ImageServer:
    port: int
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)
    bytes_sent: int = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        return [p for p, _ in self.requests]

    # --- ready-made answers ---------------------------------------------------------------------
    def image(self, path: str, body: bytes | None = None, content_type: str = "image/png") -> None:
        data = png_bytes() if body is None else body

        def answer(h: BaseHTTPRequestHandler) -> None:
            h.send_response(200)
            h.send_header("Content-Type", content_type)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
            self.bytes_sent += len(data)

        self.routes[path] = answer

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        def answer(h: BaseHTTPRequestHandler) -> None:
            h.send_response(status)
            h.send_header("Location", location)
            h.send_header("Content-Length", "0")
            h.end_headers()

        self.routes[path] = answer

    def endless(self, path: str, chunk: int = 65536, declare_length: int | None = None) -> None:
        """An image body that never ends (stops after 64 MB), without or with a Content-Length."""

        def answer(h: BaseHTTPRequestHandler) -> None:
            h.send_response(200)
            h.send_header("Content-Type", "image/png")
            if declare_length is not None:
                h.send_header("Content-Length", str(declare_length))
            h.end_headers()
            block = b"\0" * chunk
            try:
                for _ in range(1024):
                    h.wfile.write(block)
                    self.bytes_sent += chunk
            except (BrokenPipeError, ConnectionResetError):
                pass
            h.close_connection = True

        self.routes[path] = answer

    def slow(self, path: str, delay: float) -> None:
        def answer(h: BaseHTTPRequestHandler) -> None:
            time.sleep(delay)
            try:
                h.send_response(200)
                h.send_header("Content-Type", "image/png")
                h.send_header("Content-Length", "0")
                h.end_headers()
            except (BrokenPipeError, ConnectionResetError):
                pass

        self.routes[path] = answer


@contextmanager
def image_server(tls: ssl.SSLContext | None = None) -> Iterator[ImageServer]:
    """The server on a free port of 127.0.0.1; over TLS with `tls` (a server-side context)."""
    state = ImageServer(0)

    class _Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append((self.path, self.headers.get("Host", "")))
            route = state.routes.get(self.path.split("?", 1)[0])
            if route is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            route(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
