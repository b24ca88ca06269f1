"""A stand-in for a Slack incoming webhook: a real HTTP server that keeps the messages posted to it.

Slack authenticates an incoming webhook by the secret in its URL (``/services/<token>``), and so does
this server: a POST to any other path gets Slack's ``404 no_service``, a body that is not a JSON
object with ``text`` or ``blocks`` gets ``400 invalid_payload``, and an accepted message gets
``200 ok``. The Slack provider's hook (slack_sdk's ``WebhookClient``) talks to it unchanged through
an Airflow ``slackwebhook`` connection whose host is this server (:meth:`WebhookSink.connection`).
"""

from __future__ import annotations

import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookSink:
    """Listens on a free loopback port once started; ``messages()`` are the accepted payloads."""

    def __init__(self) -> None:
        self.token = f"T{secrets.token_hex(4)}/B{secrets.token_hex(4)}/{secrets.token_urlsafe(18)}"
        self._messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, name="slack-webhook-sink", daemon=True)

    @property
    def base_url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/services"

    def start(self) -> WebhookSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def connection(self) -> dict[str, Any]:
        """The Airflow connection (``AIRFLOW_CONN_<ID>`` JSON) of this webhook; the token is its password."""
        return {"conn_type": "slackwebhook", "host": self.base_url, "password": self.token}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not secrets.compare_digest(self.path, f"/services/{sink.token}"):
                    self._answer(404, "no_service")
                    return
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = None
                if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
                    self._answer(400, "invalid_payload")
                    return
                with sink._lock:
                    sink._messages.append(payload)
                self._answer(200, "ok")

            def _answer(self, status: int, text: str) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet: the tests read messages(), not an access log

        return Handler
