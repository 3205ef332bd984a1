"""OAuth for the sandbox: device codes, access and refresh tokens, and their expiry.

Tokens are signed with a key derived from the catalog user, so a session file written
against one sandbox run stays valid against the next run on the same catalog. Expired
access tokens are remembered only for the life of the server. Tokens are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import uuid
from dataclasses import dataclass
from enum import Enum

ACCESS_TOKEN_SECONDS = 7 * 24 * 3600
_ACCESS = "sbx-at"
_REFRESH = "sbx-rt"


class TokenState(Enum):
    VALID = "valid"
    MISSING = "missing"
    INVALID = "invalid"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Grant:
    access_token: str
    refresh_token: str
    session_id: str
    user_id: int


@dataclass(frozen=True)
class TokenCheck:
    state: TokenState
    token: str = ""
    session_id: str = ""


class TokenAuthority:
    """Issues and verifies the sandbox's tokens for the catalog's one user."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self._key = hashlib.sha256(f"tidal-sync-sandbox:{user_id}".encode()).digest()
        self._lock = threading.Lock()
        self._device_codes: set[str] = set()
        self._expired: set[str] = set()

    def start_device_login(self) -> str:
        """A new device code; the sandbox approves it at once."""
        code = str(uuid.uuid4())
        with self._lock:
            self._device_codes.add(code)
        return code

    def redeem_device_code(self, device_code: str) -> Grant | None:
        with self._lock:
            if device_code not in self._device_codes:
                return None
            self._device_codes.discard(device_code)
        session_id = str(uuid.uuid4())
        return Grant(
            self._sign(_ACCESS, session_id),
            self._sign(_REFRESH, session_id),
            session_id,
            self.user_id,
        )

    def refresh(self, refresh_token: str) -> Grant | None:
        session_id = self._verify(_REFRESH, refresh_token)
        if session_id is None:
            return None
        return Grant(self._sign(_ACCESS, session_id), refresh_token, session_id, self.user_id)

    def check(self, authorization: str | None) -> TokenCheck:
        """How an ``Authorization`` header stands: valid, missing, invalid or expired."""
        if not authorization:
            return TokenCheck(TokenState.MISSING)
        scheme, _, token = authorization.partition(" ")
        session_id = self._verify(_ACCESS, token) if scheme.lower() == "bearer" else None
        if session_id is None:
            return TokenCheck(TokenState.INVALID)
        with self._lock:
            expired = token in self._expired
        return TokenCheck(TokenState.EXPIRED if expired else TokenState.VALID, token, session_id)

    def expire(self, access_token: str) -> None:
        with self._lock:
            self._expired.add(access_token)

    def _sign(self, kind: str, session_id: str) -> str:
        claims = json.dumps(
            {"sub": self.user_id, "sid": session_id, "nonce": secrets.token_hex(8)}
        ).encode()
        payload = base64.urlsafe_b64encode(claims).decode().rstrip("=")
        return f"{kind}.{payload}.{self._mac(kind, payload)}"

    def _verify(self, kind: str, token: str) -> str | None:
        """The token's session id if it is a genuine token of this kind, else None."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != kind:
            return None
        if not hmac.compare_digest(parts[2], self._mac(kind, parts[1])):
            return None
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        if claims.get("sub") != self.user_id:
            return None
        return str(claims["sid"])

    def _mac(self, kind: str, payload: str) -> str:
        return hmac.new(self._key, f"{kind}.{payload}".encode(), hashlib.sha256).hexdigest()[:32]
