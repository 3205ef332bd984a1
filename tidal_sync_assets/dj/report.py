"""What ``dj_export`` shows in the Dagster UI: where the XML is, what it holds, and what
the DJ has to do (tracks without BPM or key, primaries to relocate). Pure."""

from __future__ import annotations

from tidal_sync_assets.dj.export import ExportOutcome
from tidal_sync_assets.report import Report, table


def export_report(outcome: ExportOutcome) -> Report:
    return {
        "path": outcome.path,
        "written": outcome.written,
        "tracks exported": outcome.tracks,
        "playlists exported": outcome.playlists,
        "playlist entries": outcome.entries,
        "tracks without BPM": len(outcome.without_bpm),
        "tracks without key": len(outcome.without_key),
        "tracks below the wanted quality": outcome.below_quality,
        "primaries moved": len(outcome.moved),
        "moved primaries (relocate in Rekordbox)": outcome.moved,
        "tracks without BPM or key": table(
            ["track", "missing"],
            [(t, "BPM") for t in outcome.without_bpm] + [(t, "key") for t in outcome.without_key],
        ),
    }
