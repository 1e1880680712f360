"""The one way the tests' stand-in servers (http.server handlers) are served and answer."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Quiet(BaseHTTPRequestHandler):
    """A handler that does not log every request to stderr."""

    def log_message(self, *_args):
        pass


def serve(handler: type[BaseHTTPRequestHandler], port: int = 0) -> ThreadingHTTPServer:
    """`handler` served on 127.0.0.1:`port` (0: any free port; see `.server_port`) from daemon
    threads until `.shutdown()`."""
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    return httpd


def only(handler: BaseHTTPRequestHandler, path: str) -> bool:
    """True when the request is for `path` (query ignored); else answers 404."""
    if handler.path.split("?")[0] == path:
        return True
    handler.send_error(404)
    return False


def reply(handler: BaseHTTPRequestHandler, body: bytes, content_type: str, status: int = 200,
          headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
