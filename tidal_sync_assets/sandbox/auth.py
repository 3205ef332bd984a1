"""OAuth for the sandbox: device codes, PKCE authorization codes, tokens and their expiry.

A token remembers which login made it (device code or PKCE): TIDAL streams differently to
each (see :mod:`manifests`).

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
    pkce: bool = False


@dataclass(frozen=True)
class TokenCheck:
    state: TokenState
    token: str = ""
    session_id: str = ""
    pkce: bool = False


class TokenAuthority:
    """Issues and verifies the sandbox's tokens for the catalog's one user."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self._key = hashlib.sha256(f"tidal-sync-sandbox:{user_id}".encode()).digest()
        self._lock = threading.Lock()
        self._device_codes: set[str] = set()
        self._pkce_codes: dict[str, tuple[str, str]] = {}  # code -> (challenge, redirect URI)
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
        return self._grant(pkce=False)

    def start_pkce_login(self, code_challenge: str, redirect_uri: str) -> str:
        """An authorization code for a PKCE login; the sandbox's user approves at once."""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._pkce_codes[code] = (code_challenge, redirect_uri)
        return code

    def redeem_authorization_code(
        self, code: str, code_verifier: str, redirect_uri: str
    ) -> Grant | None:
        """Tokens for a PKCE code, if the verifier matches its challenge (S256)."""
        with self._lock:
            issued = self._pkce_codes.pop(code, None)
        if issued is None:
            return None
        digest = hashlib.sha256(code_verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        if not hmac.compare_digest(challenge, issued[0]) or redirect_uri != issued[1]:
            return None
        return self._grant(pkce=True)

    def refresh(self, refresh_token: str) -> Grant | None:
        claims = self._verify(_REFRESH, refresh_token)
        if claims is None:
            return None
        session_id, pkce = claims
        access = self._sign(_ACCESS, session_id, pkce)
        return Grant(access, refresh_token, session_id, self.user_id, pkce)

    def _grant(self, *, pkce: bool) -> Grant:
        session_id = str(uuid.uuid4())
        return Grant(
            self._sign(_ACCESS, session_id, pkce),
            self._sign(_REFRESH, session_id, pkce),
            session_id,
            self.user_id,
            pkce,
        )

    def check(self, authorization: str | None) -> TokenCheck:
        """How an ``Authorization`` header stands: valid, missing, invalid or expired."""
        if not authorization:
            return TokenCheck(TokenState.MISSING)
        scheme, _, token = authorization.partition(" ")
        claims = self._verify(_ACCESS, token) if scheme.lower() == "bearer" else None
        if claims is None:
            return TokenCheck(TokenState.INVALID)
        with self._lock:
            expired = token in self._expired
        state = TokenState.EXPIRED if expired else TokenState.VALID
        return TokenCheck(state, token, session_id=claims[0], pkce=claims[1])

    def expire(self, access_token: str) -> None:
        with self._lock:
            self._expired.add(access_token)

    def _sign(self, kind: str, session_id: str, pkce: bool) -> str:
        claims = json.dumps(
            {"sub": self.user_id, "sid": session_id, "pkce": pkce, "nonce": secrets.token_hex(8)}
        ).encode()
        payload = base64.urlsafe_b64encode(claims).decode().rstrip("=")
        return f"{kind}.{payload}.{self._mac(kind, payload)}"

    def _verify(self, kind: str, token: str) -> tuple[str, bool] | None:
        """(session id, made by PKCE) if it is a genuine token of this kind, else None."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != kind:
            return None
        if not hmac.compare_digest(parts[2], self._mac(kind, parts[1])):
            return None
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        if claims.get("sub") != self.user_id:
            return None
        return str(claims["sid"]), bool(claims.get("pkce", False))

    def _mac(self, kind: str, payload: str) -> str:
        return hmac.new(self._key, f"{kind}.{payload}".encode(), hashlib.sha256).hexdigest()[:32]
