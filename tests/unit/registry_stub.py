"""A registry stand-in on 127.0.0.1 that answers every request with one HTTP status."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from batchplane.images.registry import Registry


@contextmanager
def registry_answering(status: int) -> Iterator[Registry]:
    """A local registry whose every answer is ``status`` (404: holds nothing; 401: refuses us)."""

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Registry(f"127.0.0.1:{server.server_address[1]}", "local")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
