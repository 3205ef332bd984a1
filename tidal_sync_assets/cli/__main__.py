"""``python -m tidal_sync_assets.cli``: the ``tidal-sync`` command."""

import sys

from tidal_sync_assets.cli.commands import main

sys.exit(main())
