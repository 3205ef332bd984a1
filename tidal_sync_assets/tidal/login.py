"""The TIDAL device-code login behind ``tidal-sync login``.

Asks TIDAL for a device code, shows the user where to enter it, polls until
they have approved it (or ``timeout`` passes) and saves the session file.
"""

from __future__ import annotations

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
