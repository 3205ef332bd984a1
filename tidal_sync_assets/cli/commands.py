"""The ``tidal-sync`` command line: parses arguments and hands over to the product.

Every command reads ``Settings`` from the environment. Failures a user can
fix (a database that cannot be opened, a missing login, a busy library)
end as one sentence on stderr and exit code 3, never a traceback. ``sync``
exits 0 when all is in sync, 1 when playlists failed, 2 when a guard held
the plan, 130 (Ctrl-C) or 143 (SIGTERM) when it was stopped.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tidal_sync_assets.cli.stopping import STOPPED_SENTENCE, Stopped, stoppable
from tidal_sync_assets.database import DatabaseUnavailable, make_engine, redact
from tidal_sync_assets.database.migrations import upgrade
from tidal_sync_assets.database.scan_store import library_seen
from tidal_sync_assets.disk.lock import LibraryBusy, library_lock
from tidal_sync_assets.disk.paths import LibraryRootMissing
from tidal_sync_assets.disk.scan import root_missing
from tidal_sync_assets.disk.trash import ALL, Trash
from tidal_sync_assets.settings import ConfigurationError, Settings, positive_number
from tidal_sync_assets.tidal.http import WAITS
from tidal_sync_assets.tidal.session import (
    TidalLoginRequired,
    TidalUnavailable,
    require_session_file,
)

EXIT_CANNOT_START = 3
LOCK_WAIT_SECONDS = 10.0


def _db_upgrade(_args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    before, after = upgrade(make_engine(settings.database_url))
    where = redact(settings.database_url)
    if before == after:
        print(f"{where} is already at revision {after}")
    else:
        print(f"{where} upgraded from {before or 'empty'} to {after}")
    return 0


def _login(args: argparse.Namespace) -> int:
    from tidal_sync_assets.tidal.login import login, login_pkce

    settings = Settings.from_env()
    if args.pkce:

        def read_redirect(_login_url: str) -> str:
            print("URL your browser was sent to: ", end="", flush=True)
            return sys.stdin.readline().strip()

        login_pkce(
            settings.session_file,
            settings.api_base,
            read_redirect,
            redirect_url=args.redirect_url,
        )
    else:
        login(settings.session_file, settings.api_base)
    return 0


def _sync(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    # No login yet: say so before any run starts (exit 3, like the other causes).
    require_session_file(settings.session_file)
    root = settings.library_root
    # From here on SIGINT and SIGTERM end the sync at its next safe point (``Stopped``).
    with stoppable() as raise_if_stopped:
        if root.is_dir():
            with library_lock(root, LOCK_WAIT_SECONDS):
                return _sync_locked(args, raise_if_stopped)
        engine = make_engine(settings.database_url)
        upgrade(engine)
        if library_seen(engine):  # an unmounted drive: say so, touch nothing
            print(f"tidal-sync: {root_missing(root)}", file=sys.stderr)
            return EXIT_CANNOT_START
        return _sync_locked(args, raise_if_stopped)  # the first sync creates the root


def _sync_locked(args: argparse.Namespace, raise_if_stopped: Callable[[], None]) -> int:
    started = time.monotonic()
    if not (args.dry_run or args.playlist or args.upgrade):
        from tidal_sync_assets.services.quick_check import what_changed

        settings = Settings.from_env()
        engine = make_engine(settings.database_url)
        if what_changed(settings, engine) is None:
            # Nothing changed since a sync found the library in sync: this is all a full
            # sync would say, without starting Dagster or loading every row.
            raise_if_stopped()
            _print_quality_note(engine, settings.quality)
            print(f"in sync ({time.monotonic() - started:.1f} s)")
            return 0
    from tidal_sync_assets.cli.progress_display import show_progress
    from tidal_sync_assets.cli.sync import run_sync
    from tidal_sync_assets.definitions import defs

    if args.upgrade and not args.dry_run:
        _make_way_for_upgrades()
    with show_progress():
        report = run_sync(
            defs(),  # loaded now: the environment (and .env) as this command sees it
            raise_if_stopped,
            dry_run=args.dry_run,
            playlists=args.playlist,
            allow_mass_removal=args.allow_mass_removal,
        )
    if report.held:
        print(f"tidal-sync: held by a guard: {report.held}", file=sys.stderr)
        return report.exit_code
    if report.error and not report.failed:  # the planning run failed: no playlist ran
        print(f"tidal-sync: the sync failed while planning: {report.error}", file=sys.stderr)
        return report.exit_code
    if args.dry_run:
        for name, actions in report.plan:
            print(f"{name}:")
            for action in actions:
                where = " -> ".join(p for p in (action.source, action.target) if p)
                track = f" [track {action.track_id}]" if action.track_id else ""
                print(f"  {action.kind.value:<14}{track} {where}")
        total = sum(len(actions) for _, actions in report.plan)
        print(f"dry run: {total} actions planned, nothing changed")
        return 0
    for line in report.summary:
        print(line)
    settings = Settings.from_env()
    _print_quality_note(make_engine(settings.database_url), settings.quality)
    for name, reason in report.failed.items():
        print(f"tidal-sync: {name} failed: {reason}", file=sys.stderr)
    for line in report.export:
        print(line)
    if report.exit_code == 0:
        which = f"{', '.join(args.playlist)} " if args.playlist else ""  # not the whole library
        print(f"{which}in sync ({time.monotonic() - started:.1f} s)")
    return report.exit_code


def _status(args: argparse.Namespace) -> int:
    from tidal_sync_assets.cli.status import render
    from tidal_sync_assets.database.scan_store import load_damaged
    from tidal_sync_assets.database.status_store import playlist_statuses

    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    if args.format != "table":
        return _print_entries(engine, args.format)
    print(render(playlist_statuses(engine), load_damaged(engine)))
    _print_quality_note(engine, settings.quality)
    return 0


def _print_entries(engine: Engine, output_format: str) -> int:
    from tidal_sync_assets.cli.status import entries_csv, entries_json
    from tidal_sync_assets.database.entry_store import load_entries

    entries = load_entries(engine)
    sys.stdout.write(entries_csv(entries) if output_format == "csv" else entries_json(entries))
    return 0


def _make_way_for_upgrades() -> None:
    from tidal_sync_assets.library.upgrade import make_way_for_upgrades
    from tidal_sync_assets.tidal.session import open_configured

    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    session = open_configured(settings)
    settings.library_root.mkdir(parents=True, exist_ok=True)
    upgraded = make_way_for_upgrades(engine, session, settings.quality, settings.library_root)
    print(f"upgrade: TIDAL now delivers {len(upgraded)} track(s) better; downloading them again")


def _print_quality_note(engine: Engine, wanted: str) -> None:
    from tidal_sync_assets.cli.status import quality_note
    from tidal_sync_assets.library.upgrade import count_below_wanted_quality

    note = quality_note(count_below_wanted_quality(engine, wanted), wanted)
    if note:
        print(note)


def _trash(args: argparse.Namespace) -> int:
    root = Settings.from_env().library_root
    trash = Trash(root)
    if args.trash_command == "list":
        entries = trash.list()
        for entry in entries:
            print(f"{entry.id}  {entry.batch}  {entry.original_path}  ({entry.reason})")
        if not entries:
            print("the trash is empty")
        return 0
    with library_lock(root, LOCK_WAIT_SECONDS):
        if args.trash_command == "restore":
            outcome = trash.restore(args.which)
            for entry in outcome.restored:
                print(f"restored {entry.original_path}")
            for entry in outcome.conflicts:
                print(f"kept in trash (something is at {entry.original_path})", file=sys.stderr)
            if not (outcome.restored or outcome.conflicts or outcome.missing):
                print("the trash is empty: nothing to restore")
            return 1 if outcome.conflicts else 0
        print(f"emptied {trash.empty()} files from the trash")
        return 0


def _sandbox(args: argparse.Namespace) -> int:
    from tidal_sync_assets.sandbox.server import serve

    options = {} if args.url_seconds is None else {"url_seconds": args.url_seconds}
    serve(args.port, Path(args.catalog), host=args.host, **options)
    return 0


def _positive_seconds(text: str) -> float:
    try:
        return positive_number(text)  # the settings' own parser: NaN refused too
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds greater than 0"
        ) from None


def _demo(args: argparse.Namespace) -> int:
    from tidal_sync_assets.cli.demo import demo_environment, run_ui

    if args.ui:
        return run_ui()
    with demo_environment():
        sync = argparse.Namespace(
            dry_run=False, playlist=[], allow_mass_removal=False, upgrade=False
        )
        code = _sync(sync)
    print(f"demo library: {Settings.from_env().library_root}")
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tidal-sync", description="Keep a local music library in step with TIDAL."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Callable[[argparse.Namespace], int], text: str) -> Any:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(handler=handler)
        return sub

    login = command("login", _login, "log in to TIDAL and save the session file")
    login.add_argument(
        "--pkce",
        action="store_true",
        help="log in through TIDAL's web page (PKCE): TIDAL serves lossless FLAC to it",
    )
    login.add_argument(
        "--redirect-url", metavar="URL", help="with --pkce: the URL the browser was sent to"
    )
    sync = command("sync", _sync, "bring the library in step with TIDAL")
    sync.epilog = (
        "exit 0: in sync; 1: some playlists failed, or TIDAL kept failing; 2: held by a "
        "guard (it says how to allow it); 3: could not start (a setting, the database, "
        "no login, a busy or missing library)"
    )
    sync.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    sync.add_argument(
        "--playlist", action="append", default=[], metavar="UUID|NAME", help="only these"
    )
    sync.add_argument(
        "--allow-mass-removal", action="store_true", help="let a plan that removes much run"
    )
    sync.add_argument(
        "--upgrade",
        action="store_true",
        help="replace tracks stored below the wanted quality that TIDAL now delivers better",
    )
    status = command("status", _status, "per playlist: sync status, tracks, missing, failed")
    status.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="table (default): per playlist; csv, json: one row per playlist entry "
        "(playlist, position, artist, title, file, quality, codec, bpm, key, status)",
    )
    demo = command("demo", _demo, "sync the bundled sandbox TIDAL into ./demo-library")
    demo.add_argument("--ui", action="store_true", help="the same, inside `dagster dev`")
    sandbox = command("sandbox", _sandbox, "run the sandbox TIDAL server alone")
    sandbox.add_argument("--port", type=int, required=True, help="the port to listen on")
    sandbox.add_argument(
        "--catalog",
        required=True,
        help="a catalog file; the demo's is tidal_sync_assets/sandbox/demo_catalog.json",
    )
    sandbox.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    sandbox.add_argument(
        "--url-seconds",
        type=_positive_seconds,
        metavar="N",
        help="seconds a signed audio URL stays valid; after that it answers 403, as TIDAL's "
        "CDN does (default: 600)",
    )
    trash = command("trash", _trash, "list, restore or empty removed files")
    trash_commands = trash.add_subparsers(dest="trash_command", required=True)
    trash_commands.add_parser("list", help="every removed file: id, batch, where it was, why")
    restore = trash_commands.add_parser(
        "restore", help="put files back where they were (never over something there)"
    )
    restore.add_argument(
        "which", nargs="?", default=ALL, help="an entry id, a batch id, or all (default)"
    )
    trash_commands.add_parser("empty", help="delete the trashed files for good")
    db = command("db", _db_upgrade, "the product database")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="migrate the database to head")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Dagster's console logger is quiet (sync.QUIET); waiting for TIDAL is the user's
    # to know, so that one logger of the product's own speaks on the terminal.
    waits = logging.StreamHandler(_CurrentStderr())
    waits.setFormatter(logging.Formatter("tidal-sync: %(message)s"))
    WAITS.addHandler(waits)
    try:
        return _run(args)
    finally:
        WAITS.removeHandler(waits)


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written: a live progress display
    redirects it so that a line prints above the display instead of through it."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _run(args: argparse.Namespace) -> int:
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (
        DatabaseUnavailable,
        ConfigurationError,
        TidalLoginRequired,
        TidalUnavailable,
        LibraryBusy,
        LibraryRootMissing,
        KeyError,
        ValueError,
    ) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"tidal-sync: {message}", file=sys.stderr)
        return EXIT_CANNOT_START
    except BrokenPipeError:  # `tidal-sync status | head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell tool stopped this way ends
    except OSError as error:  # the disk refused: read-only, full, no permission
        where = f" ({error.filename})" if error.filename else ""
        print(f"tidal-sync: {error.strerror or error}{where}", file=sys.stderr)
        return EXIT_CANNOT_START
    except Stopped as stop:  # a sync: it stopped at a safe point
        print(f"tidal-sync: {STOPPED_SENTENCE}", file=sys.stderr)
        return stop.exit_code
    except KeyboardInterrupt:
        return 130
