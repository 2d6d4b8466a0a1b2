"""A real HTTP server on 127.0.0.1 for feed tests: routes answer with a body and an ETag, 304 to a
matching If-None-Match, or misbehave on purpose (500s, slow answers, truncated bodies)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    """What a path (or, when given with its query, a path and query) answers."""

    body: bytes = b""
    etag: str = ""
    status: int = 200
    delay: float = 0.0  # seconds before answering
    truncate_to: int | None = None  # send only this many bytes of the body (announcing all)
    fail_times: int = 0  # answer 503 this many times first
    content_type: str = "application/json"


@dataclass
class FeedServer:
    base: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> int:
        return sum(1 for seen, _headers in self.requests if seen == path)


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            server.requests.append((path, dict(self.headers.items())))
            route = server.routes.get(self.path) or server.routes.get(path)
            if route is None:
                self.send_error(404, "no such feed")
                return
            if route.delay:
                time.sleep(route.delay)
            if route.fail_times > 0:
                route.fail_times -= 1
                self.send_error(503, "try again later")
                return
            if route.status != 200:
                self.send_error(route.status)
                return
            if route.etag and self.headers.get("If-None-Match") == route.etag:
                self.send_response(304)
                self.send_header("ETag", route.etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            if route.etag:
                self.send_header("ETag", route.etag)
            self.end_headers()
            body = route.body if route.truncate_to is None else route.body[: route.truncate_to]
            try:
                self.wfile.write(body)
                if route.truncate_to is not None:
                    self.wfile.flush()
                    self.close_connection = True
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on a free local port in a thread; yields the base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    state = FeedServer(base="")
    with serving(_handler(state)) as base:
        state.base = base
        yield state
