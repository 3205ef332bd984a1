"""The ``/_sandbox/`` control endpoints: drive faults, the request log and the catalog over HTTP.

=======  ==================================  ==================================================
method   path                                does
=======  ==================================  ==================================================
POST     /_sandbox/faults                    add a fault rule (JSON, fields of ``FaultRule``)
GET      /_sandbox/faults                    list the live rules
DELETE   /_sandbox/faults                    remove every rule
GET      /_sandbox/requests                  the request log: ``{"requests": [{method, path,
                                             status}]}``
DELETE   /_sandbox/requests                  clear the request log
GET      /_sandbox/settings                  ``{"url_seconds": N}``: how long a signed audio
                                             URL stays valid
PUT      /_sandbox/settings                  change it (URLs signed from now on)
GET      /_sandbox/catalog                   the live catalog, in the catalog file format
PUT      /_sandbox/catalog/tracks/<id>       add or replace a track (catalog track format)
PUT      /_sandbox/catalog/playlists/<uuid>  add or replace a playlist (catalog format)
POST     /_sandbox/catalog/playlists/<uuid>  change ``title`` / ``description`` / ``tracks``
                                             (bumps ``lastUpdated``)
DELETE   /_sandbox/catalog/playlists/<uuid>  remove a playlist
=======  ==================================  ==================================================

Control requests need no token, are never faulted and are not written to the request log.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tidal_sync_assets.sandbox import catalog as catalog_format
from tidal_sync_assets.sandbox.exchange import Request, Response, json_response
from tidal_sync_assets.sandbox.faults import FaultRule

if TYPE_CHECKING:
    from tidal_sync_assets.sandbox.server import SandboxServer

PREFIX = "/_sandbox/"
_Action = Callable[["SandboxServer", Request, re.Match[str]], Response]


def handle(server: SandboxServer, request: Request) -> Response:
    for method, pattern, action in _ACTIONS:
        match = pattern.fullmatch(request.path)
        if match and method == request.method:
            try:
                return action(server, request, match)
            except (KeyError, ValueError, TypeError, re.error) as problem:
                return json_response(400, {"error": str(problem)})
    return json_response(404, {"error": f"no control endpoint {request.method} {request.path}"})


def _add_fault(server: SandboxServer, request: Request, _: re.Match[str]) -> Response:
    rule = server.faults.add(FaultRule.from_dict(request.json()))
    return json_response(201, rule.to_dict())


def _list_faults(server: SandboxServer, request: Request, _: re.Match[str]) -> Response:
    return json_response(200, {"faults": [r.to_dict() for r in server.faults.rules()]})


def _clear_faults(server: SandboxServer, request: Request, _: re.Match[str]) -> Response:
    server.faults.clear()
    return json_response(200, {"faults": []})


def _requests(server: SandboxServer, request: Request, _: re.Match[str]) -> Response:
    entries = [{"method": m, "path": p, "status": s} for m, p, s in server.request_log]
    return json_response(200, {"requests": entries})


def _clear_requests(server: SandboxServer, request: Request, _: re.Match[str]) -> Response:
    server.clear_log()
    return json_response(200, {"requests": []})


def _settings(server: SandboxServer, request: Request, _: re.Match[str]) -> Response:
    return json_response(200, {"url_seconds": server.signer.lifetime_seconds})


def _change_settings(server: SandboxServer, request: Request, match: re.Match[str]) -> Response:
    seconds = float(request.json()["url_seconds"])
    if not seconds > 0:  # also refuses NaN
        raise ValueError("url_seconds must be greater than 0")
    server.signer.lifetime_seconds = seconds
    return _settings(server, request, match)


def _catalog(server: SandboxServer, request: Request, _: re.Match[str]) -> Response:
    return json_response(200, server.catalog.to_dict())


def _put_track(server: SandboxServer, request: Request, match: re.Match[str]) -> Response:
    document: dict[str, Any] = {**request.json(), "id": int(match["id"])}
    server.catalog.put_track(catalog_format.track_from_dict(document))
    return json_response(200, document)


def _put_playlist(server: SandboxServer, request: Request, match: re.Match[str]) -> Response:
    document: dict[str, Any] = {**request.json(), "uuid": match["uuid"]}
    server.catalog.put_playlist(catalog_format.playlist_from_dict(document))
    return json_response(200, document)


def _update_playlist(server: SandboxServer, request: Request, match: re.Match[str]) -> Response:
    changes = request.json()
    updated = server.catalog.update_playlist(
        match["uuid"],
        title=changes.get("title"),
        description=changes.get("description"),
        track_ids=changes.get("tracks"),
    )
    return json_response(200, catalog_format.playlist_to_dict(updated))


def _remove_playlist(server: SandboxServer, request: Request, match: re.Match[str]) -> Response:
    server.catalog.remove_playlist(match["uuid"])
    return json_response(200, {"removed": match["uuid"]})


_ACTIONS: list[tuple[str, re.Pattern[str], _Action]] = [
    (method, re.compile(PREFIX + path), action)
    for method, path, action in [
        ("POST", "faults", _add_fault),
        ("GET", "faults", _list_faults),
        ("DELETE", "faults", _clear_faults),
        ("GET", "requests", _requests),
        ("DELETE", "requests", _clear_requests),
        ("GET", "settings", _settings),
        ("PUT", "settings", _change_settings),
        ("GET", "catalog", _catalog),
        ("PUT", r"catalog/tracks/(?P<id>\d+)", _put_track),
        ("PUT", r"catalog/playlists/(?P<uuid>[^/]+)", _put_playlist),
        ("POST", r"catalog/playlists/(?P<uuid>[^/]+)", _update_playlist),
        ("DELETE", r"catalog/playlists/(?P<uuid>[^/]+)", _remove_playlist),
    ]
]
