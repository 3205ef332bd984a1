"""One HTTP exchange as the sandbox's routes see it: a parsed request and the response to send."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    def form(self) -> dict[str, str]:
        """The body as form fields (how tidalapi posts to the OAuth endpoints), or the query."""
        fields = parse_qs(self.body.decode("utf-8", "replace"))
        return {**self.query, **{k: v[-1] for k, v in fields.items()}}

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def int_param(self, name: str, default: int) -> int:
        value = self.query.get(name)
        return int(value) if value not in (None, "") else default


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, document: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(document, ensure_ascii=False).encode()
    return Response(status, body, headers=headers or {})
