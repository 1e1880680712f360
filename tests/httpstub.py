"""The one way the tests' stand-in servers (http.server handlers) answer."""
from __future__ import annotations

from http.server import BaseHTTPRequestHandler


def reply(handler: BaseHTTPRequestHandler, body: bytes, content_type: str, status: int = 200,
          headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
