"""The TIDAL logins behind ``tidal-sync login``: device code (default) and PKCE.

Device code: asks TIDAL for a code, shows the user where to enter it, polls until
they have approved it (or ``timeout`` passes) and saves the session file.
PKCE (``--pkce``): shows TIDAL's login page URL, takes the URL the browser was
sent to after the login, exchanges its code for tokens and saves the session file
(``is_pkce`` true). TIDAL streams lossless FLAC for most releases only to PKCE sessions.
The PKCE verifier of the URL shown waits in ``<session file>.pkce`` (0600) until a code
is exchanged, so a script can show the URL in one run and give the redirected URL to the
next (``--redirect-url``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import requests
from tidalapi.exceptions import TidalAPIError

from tidal_sync_assets.tidal.http import RetryPolicy
from tidal_sync_assets.tidal.session import (
    DEFAULT_TIMEOUT,
    TidalLoginRequired,
    TidalUnavailable,
    new_session,
    rebase_url,
    save_session_file,
)


def login(
    session_file: Path,
    api_base: str | None,
    print_fn: Callable[[str], object] = print,
    timeout: float = 300,
    *,
    retry: RetryPolicy | None = None,
) -> None:
    """Log in to TIDAL with a device code and save the session to ``session_file`` (0600).

    Raises ``TidalLoginRequired`` when the code was not approved within ``timeout``
    seconds and ``TidalUnavailable`` when TIDAL cannot be reached.
    """
    session = new_session(session_file, api_base, timeout=DEFAULT_TIMEOUT, retry=retry)
    try:
        link = session.get_link_login()
        uri = link.verification_uri_complete
        if "://" not in uri:
            uri = f"https://{uri}"
        print_fn(f"Open {uri} and approve the code {link.user_code} to log in to TIDAL.")
        deadline = time.monotonic() + min(timeout, link.expires_in)
        # One check per call (tidalapi sleeps the polling interval between
        # checks), so the timeout is ours and no polling thread outlives us.
        while True:
            try:
                session.process_link_login(link, until_expiry=False)
                break
            except TimeoutError:
                if time.monotonic() >= deadline:
                    raise TidalLoginRequired(
                        "The TIDAL login code was not approved in time; "
                        "run `tidal-sync login` again."
                    ) from None
    except (requests.RequestException, TidalAPIError, ValueError, KeyError) as exc:
        raise TidalUnavailable.from_error(exc, session.api_origin) from None
    save_session_file(session, session_file)
    print_fn(f"Logged in to TIDAL; session saved to {session_file}.")


def login_pkce(
    session_file: Path,
    api_base: str | None,
    read_redirect: Callable[[str], str],
    print_fn: Callable[[str], object] = print,
    *,
    redirect_url: str | None = None,
    retry: RetryPolicy | None = None,
) -> None:
    """Log in to TIDAL with PKCE and save the session to ``session_file`` (0600).

    ``read_redirect`` gets TIDAL's login URL and returns the URL the browser was
    redirected to; ``redirect_url`` answers for a login URL shown by an earlier run.
    Raises ``TidalLoginRequired`` when no URL with a code is given or TIDAL refuses
    the code, and ``TidalUnavailable`` when TIDAL cannot be reached.
    """
    session = new_session(session_file, api_base, timeout=DEFAULT_TIMEOUT, retry=retry)
    pending = session_file.with_name(session_file.name + ".pkce")
    if redirect_url and pending.is_file():
        verifier = json.loads(pending.read_text())
        session.config.code_verifier = verifier["code_verifier"]
        session.config.client_unique_key = verifier["client_unique_key"]
        redirected = redirect_url
    else:
        login_url = session.pkce_login_url()
        if api_base:
            login_url = rebase_url(login_url, api_base)
        _write_private(
            pending,
            {
                "code_verifier": session.config.code_verifier,
                "client_unique_key": session.config.client_unique_key,
            },
        )
        print_fn("Open this URL, log in to TIDAL, then give the URL your browser lands on:")
        print_fn(login_url)
        redirected = redirect_url or read_redirect(login_url)
    if "code=" not in redirected:
        raise TidalLoginRequired(
            "No URL with a login code was given. Open the URL above, log in, then run "
            "`tidal-sync login --pkce --redirect-url URL` with the URL your browser lands on."
        )
    try:
        tokens = session.pkce_get_auth_token(redirected)
        session.process_auth_token(tokens, is_pkce_token=True)
    except requests.HTTPError as exc:
        if exc.response is not None and exc.response.status_code in (400, 401):
            raise TidalLoginRequired(
                "TIDAL refused the login code (used or expired); "
                "run `tidal-sync login --pkce` again."
            ) from None
        raise TidalUnavailable.from_error(exc, session.api_origin) from None
    except (requests.RequestException, TidalAPIError, ValueError, KeyError) as exc:
        raise TidalUnavailable.from_error(exc, session.api_origin) from None
    save_session_file(session, session_file)
    pending.unlink(missing_ok=True)
    print_fn(f"Logged in to TIDAL (PKCE); session saved to {session_file}.")


def _write_private(path: Path, document: dict[str, str]) -> None:
    """Write ``document`` to ``path``, readable by the user only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(document, out)
