"""The sandbox TIDAL's HTTP server: its lifecycle, fault injection on the wire, the request log.

``SandboxServer`` runs a threaded HTTP/1.1 server (loopback by default) in a background
thread; ``serve`` runs one in the foreground for ``tidal-sync sandbox``. What each endpoint
answers lives in :mod:`routes` (TIDAL) and :mod:`control` (``/_sandbox/``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tidal_sync_assets.sandbox import control, payloads
from tidal_sync_assets.sandbox.auth import TokenAuthority, TokenState
from tidal_sync_assets.sandbox.catalog import Catalog, load_catalog
from tidal_sync_assets.sandbox.exchange import Request, Response, json_response
from tidal_sync_assets.sandbox.faults import FaultRule, Faults
from tidal_sync_assets.sandbox.manifests import DEFAULT_URL_SECONDS, UrlSigner
from tidal_sync_assets.sandbox.routes import TidalApi, token_expired

log = logging.getLogger(__name__)
LogEntry = tuple[str, str, int]
# Query parameters whose values never reach a log: anything ending in "token", and OAuth codes.
_SECRET_PARAM = re.compile(
    r"(?i)(^|&)([^=&]*token|device_code|code|code_verifier|client_secret)=[^&]*"
)
_STATUS_MESSAGES = {
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


class SandboxServer:
    """A running sandbox TIDAL on ``host:port`` (port 0: any free port)."""

    def __init__(
        self,
        catalog: Catalog,
        host: str = "127.0.0.1",
        port: int = 0,
        url_seconds: float = DEFAULT_URL_SECONDS,
    ) -> None:
        self.catalog = catalog
        self.faults = Faults()
        self.tokens = TokenAuthority(catalog.user.id)
        #: Signs audio URLs; set ``signer.lifetime_seconds`` to make them expire sooner.
        self.signer = UrlSigner(secrets.token_bytes(32), url_seconds)
        self._host = host
        self._port = port
        self._log: list[LogEntry] = []
        self._log_lock = threading.Lock()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._api: TidalApi | None = None

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the sandbox is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def request_log(self) -> list[LogEntry]:
        """Every TIDAL request so far: (method, path with redacted query, status; 0 = reset)."""
        with self._log_lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    def start(self) -> SandboxServer:
        self._httpd = _HttpServer((self._host, self._port), _Handler)
        self._httpd.sandbox = self
        self._api = TidalApi(self.catalog, self.tokens, self.base_url, self.signer)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-tidal-{self._httpd.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = None
        self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def record(self, method: str, target: str, status: int) -> None:
        with self._log_lock:
            self._log.append((method, target, status))


def serve(
    port: int,
    catalog_path: Path,
    host: str = "127.0.0.1",
    url_seconds: float = DEFAULT_URL_SECONDS,
) -> None:
    """Serve ``catalog_path`` on ``host:port`` until interrupted (Ctrl-C); signed audio URLs
    stay valid for ``url_seconds``."""
    catalog = load_catalog(catalog_path)
    with SandboxServer(catalog, host=host, port=port, url_seconds=url_seconds) as sandbox:
        print(f"Sandbox TIDAL listening on {sandbox.base_url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("Sandbox TIDAL stopped", flush=True)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: SandboxServer

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        """A client that hung up mid-answer is routine for a server; anything else is not."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            log.debug("sandbox: %s hung up: %s", client_address, error)
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _HttpServer

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: object) -> None:
        log.debug("sandbox: " + format, *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("sandbox: %s %s -> %s", self.command, redact(self.path), code)

    def _dispatch(self) -> None:
        sandbox = self.server.sandbox
        request = self._read_request()
        if request.path.startswith(control.PREFIX):
            self._send(control.handle(sandbox, request))
            return
        target = redact(self.path)
        rule = sandbox.faults.fire(request.method, self.path)
        if rule is not None and rule.kind == "reset":
            self._reset()
            sandbox.record(request.method, target, 0)
            return
        response = self._respond(request, rule)
        sandbox.record(request.method, target, response.status)
        self._send(response, rule)

    def _read_request(self) -> Request:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        return Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )

    def _respond(self, request: Request, rule: FaultRule | None) -> Response:
        sandbox = self.server.sandbox
        if rule is not None and rule.kind == "status":
            return _fault_status(rule)
        if rule is not None and rule.kind == "expire_token":
            check = sandbox.tokens.check(request.headers.get("authorization"))
            if check.state is TokenState.VALID:
                sandbox.tokens.expire(check.token)
            return token_expired()
        assert sandbox._api is not None
        try:
            response = sandbox._api.handle(request)
        except Exception:
            log.exception("sandbox: %s %s failed", request.method, request.path)
            return json_response(500, payloads.error(500, 0, "Sandbox internal error"))
        if rule is not None and rule.kind == "short":
            return _short_page(response, rule.drop_items)
        if rule is not None and rule.kind == "bad_manifest":
            return _cut_manifest(response, rule.after_bytes)
        return response

    def _send(self, response: Response, rule: FaultRule | None = None) -> None:
        if rule is not None and rule.kind == "slow" and not rule.during_body:
            time.sleep(rule.delay)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if rule is not None and rule.kind == "slow" and rule.during_body:
            self.wfile.flush()
            time.sleep(rule.delay)
        if rule is not None and rule.kind == "truncate":
            self.wfile.write(response.body[: rule.after_bytes])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):  # the client may have hung up already
                self.connection.shutdown(socket.SHUT_WR)
            return
        self.wfile.write(response.body)

    def _reset(self) -> None:
        """Drop the connection with a TCP reset instead of an answer."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


def _fault_status(rule: FaultRule) -> Response:
    message = rule.message or _STATUS_MESSAGES.get(rule.status, "Sandbox fault")
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
    body = json.dumps(payloads.error(rule.status, rule.sub_status, message)).encode()
    return Response(rule.status, body, headers=headers)


def _short_page(response: Response, drop: int) -> Response:
    """The page without its first ``drop`` items; its ``totalNumberOfItems`` unchanged."""
    if response.status != 200 or not response.content_type.startswith("application/json"):
        return response
    document = json.loads(response.body)
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        return response
    document["items"] = document["items"][drop:]
    return json_response(200, document, headers=response.headers)


def _cut_manifest(response: Response, keep: int) -> Response:
    """The playback info with its base64 ``manifest`` cut to its first ``keep`` characters."""
    if response.status != 200 or not response.content_type.startswith("application/json"):
        return response
    document = json.loads(response.body)
    if not isinstance(document, dict) or not isinstance(document.get("manifest"), str):
        return response
    document["manifest"] = document["manifest"][:keep]
    return json_response(200, document, headers=response.headers)


def redact(target: str) -> str:
    """The request target with the values of token-like query parameters masked."""
    path, mark, query = target.partition("?")
    return path + mark + _SECRET_PARAM.sub(r"\1\2=***", query)
