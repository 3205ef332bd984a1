"""The ``tidal-sync`` command line: parses arguments and hands over to the product.

Every command reads ``Settings`` from the environment. Failures a user can
fix (a database that cannot be opened, a missing login) end as one sentence
on stderr and exit code 3, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from tidal_sync_assets.database import DatabaseUnavailable, make_engine, redact
from tidal_sync_assets.database.migrations import upgrade
from tidal_sync_assets.settings import ConfigurationError, Settings

EXIT_CANNOT_START = 3


def _db_upgrade(_args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    before, after = upgrade(engine)
    where = redact(settings.database_url)
    if before == after:
        print(f"{where} is already at revision {after}")
    else:
        print(f"{where} upgraded from {before or 'empty'} to {after}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tidal-sync", description="Keep a local music library in step with TIDAL."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="the product database")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="migrate the database to head").set_defaults(
        handler=_db_upgrade
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (DatabaseUnavailable, ConfigurationError) as error:
        print(f"tidal-sync: {error}", file=sys.stderr)
        return EXIT_CANNOT_START


if __name__ == "__main__":
    sys.exit(main())
