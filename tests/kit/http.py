"""Stand-in HTTP servers: the one way http.server handlers are served and answer, and a webhook
that records what it receives."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson

from tests.kit.contracts import free_port


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


class Recorder:
    """A webhook that records every request; `script` answers the first ones (then 204)."""

    def __init__(self, script=()):
        self.script = list(script)
        self.received: list[dict] = []
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with recorder.lock:
                    status, reply, headers = recorder.script.pop(0) if recorder.script else (204, b"", {})
                    recorder.received.append({"path": self.path, "doc": orjson.loads(body),
                                              "status": status, "at": time.monotonic()})
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/webhooks/1/abc"

    def delivered(self) -> list[str]:
        """Lines of every message the server accepted (2xx), in order."""
        with self.lock:
            return [line for r in self.received if r["status"] < 300
                    for line in (r["doc"].get("content") or r["doc"].get("text")).splitlines()]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
