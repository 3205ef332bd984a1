"""Tags: every field round-trips through every format, by one field table."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import mutagen
import pytest
from mutagen.flac import FLAC
from mutagen.id3 import COMM
from mutagen.mp3 import MP3

from tests.fixtures.library import AUDIO_FORMATS, make_audio
from tidal_sync_assets.disk.entry import AudioTags
from tidal_sync_assets.disk.tags import (
    FIELDS,
    AudioReadError,
    detect_extension,
    read_cover,
    read_tags,
    write_tags,
)
from tidal_sync_assets.sandbox.images import cover_jpeg

FULL = AudioTags(
    title="Nightcall (Extended Mix) 🌙",
    artist="Kavinsky, Lovefoxxx",
    album="OutRun — Ünïcödé",
    album_artist="Kavinsky",
    track_number=7,
    isrc="FR0NT1000123",
    tidal_track_id=123456789012,
    bpm=124,
    key="F#m",
    year=2023,
)
EXTENSION = {
    "flac": ".flac",
    "wav": ".wav",
    "aiff": ".aiff",
    "ogg": ".ogg",
    "opus": ".opus",
    "mp3": ".mp3",
    "m4a": ".m4a",
}


def without_duration(tags: AudioTags) -> AudioTags:
    return dataclasses.replace(tags, duration=None)


def test_the_field_table_covers_every_tag_field() -> None:
    tag_fields = {f.name for f in dataclasses.fields(AudioTags)} - {"duration"}
    assert {field.name for field in FIELDS} == tag_fields


@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_every_field_round_trips(tmp_path: Path, fmt: str) -> None:
    path = make_audio(tmp_path / f"track.{fmt}", fmt, tags=FULL)
    tags = read_tags(path)
    assert without_duration(tags) == FULL
    assert tags.duration == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize(
    ("fmt", "bpm", "key", "year"),
    [
        ("mp3", "TBPM", "TKEY", "TDRC"),
        ("flac", "BPM", "INITIALKEY", "DATE"),
        ("m4a", "tmpo", "----:com.apple.iTunes:initialkey", "©day"),
    ],
)
def test_dj_fields_sit_where_dj_software_reads_them(
    tmp_path: Path, fmt: str, bpm: str, key: str, year: str
) -> None:
    tags = mutagen.File(make_audio(tmp_path / f"track.{fmt}", fmt, tags=FULL)).tags

    def text(name: str) -> str:
        value = tags[name]
        value = getattr(value, "text", value)[0]
        return value.decode() if isinstance(value, bytes) else str(value)

    assert (text(bpm), text(key), text(year)) == ("124", "F#m", "2023")


def test_a_full_date_and_a_fractional_bpm_read_as_year_and_whole_bpm(tmp_path: Path) -> None:
    path = make_audio(tmp_path / "theirs.flac", "flac")
    audio = mutagen.File(path)
    audio["DATE"], audio["BPM"] = "2019-04-05", "127.5"
    audio.save()
    assert (read_tags(path).year, read_tags(path).bpm) == (2019, 127)


@pytest.mark.parametrize("fmt", ["flac", "mp3", "m4a", "wav", "aiff"])
def test_the_front_cover_is_embedded_once_and_replaced_not_stacked(
    tmp_path: Path, fmt: str
) -> None:
    path = make_audio(tmp_path / f"track.{fmt}", fmt)
    write_tags(path, FULL, cover=cover_jpeg("first"))
    write_tags(path, FULL, cover=cover_jpeg("second"))
    assert read_cover(path) == cover_jpeg("second")
    write_tags(path, FULL)  # no cover given: the embedded one stays
    assert read_cover(path) == cover_jpeg("second")
    assert without_duration(read_tags(path)) == FULL


@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_writing_none_removes_a_field_and_rewriting_replaces_it(tmp_path: Path, fmt: str) -> None:
    path = make_audio(tmp_path / f"track.{fmt}", fmt, tags=FULL)
    changed = dataclasses.replace(FULL, album=None, isrc=None, track_number=12, title="Other")
    write_tags(path, changed)
    assert without_duration(read_tags(path)) == changed


@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_an_untagged_file_reads_as_empty_tags_with_its_duration(tmp_path: Path, fmt: str) -> None:
    tags = read_tags(make_audio(tmp_path / f"plain.{fmt}", fmt, seconds=0.5))
    assert without_duration(tags) == AudioTags()
    assert tags.duration == pytest.approx(0.5, abs=0.1)


@pytest.mark.parametrize("fmt", AUDIO_FORMATS)
def test_the_codec_is_detected_from_content_not_the_name(tmp_path: Path, fmt: str) -> None:
    path = make_audio(tmp_path / f"track.{fmt}", fmt)
    disguised = path.rename(tmp_path / ("download.mp3" if fmt != "mp3" else "download.flac"))
    assert detect_extension(disguised) == EXTENSION[fmt]
    assert detect_extension(path.parent / disguised.name) == EXTENSION[fmt]
    nameless = disguised.rename(tmp_path / ".tidal-sync-tmp-download")
    assert detect_extension(nameless) == EXTENSION[fmt]


def test_a_misnamed_file_still_reads_by_its_content(tmp_path: Path) -> None:
    path = make_audio(tmp_path / "track.flac", "flac", tags=FULL)
    assert without_duration(read_tags(path.rename(tmp_path / "track.mp3"))) == FULL


def test_tags_outside_the_table_are_kept(tmp_path: Path) -> None:
    flac_path = make_audio(tmp_path / "a.flac", "flac")
    flac = FLAC(flac_path)
    flac["COMMENT"] = ["keep me"]
    flac.save()
    write_tags(flac_path, FULL)
    assert FLAC(flac_path)["COMMENT"] == ["keep me"]

    mp3_path = make_audio(tmp_path / "a.mp3", "mp3", tags=FULL)
    mp3 = MP3(mp3_path)
    assert mp3.tags is not None
    mp3.tags.add(COMM(encoding=3, lang="eng", desc="", text=["keep me"]))
    mp3.save()
    write_tags(mp3_path, dataclasses.replace(FULL, title="New"))
    assert str(MP3(mp3_path).tags["COMM::eng"]) == "keep me"


def test_track_numbers_like_5_of_12_read_as_5(tmp_path: Path) -> None:
    path = make_audio(tmp_path / "a.flac", "flac")
    flac = FLAC(path)
    flac["TRACKNUMBER"] = ["05/12"]
    flac["TIDAL_TRACK_ID"] = ["not a number"]
    flac.save()
    tags = read_tags(path)
    assert tags.track_number == 5
    assert tags.tidal_track_id is None


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.flac", b""),
        ("text.mp3", b"this is not audio at all" * 10),
        ("header-only.flac", b"fLaC\x00\x00\x00\x22"),
        ("riff.wav", b"RIFF\x10\x00\x00\x00WAVEfmt "),
    ],
)
def test_corrupt_or_unsupported_audio_raises_a_clear_error(
    tmp_path: Path, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AudioReadError):
        read_tags(path)
    with pytest.raises(AudioReadError):
        write_tags(path, FULL)
    with pytest.raises(AudioReadError):
        detect_extension(path)


@pytest.mark.parametrize("fmt", ["flac", "m4a", "ogg"])
def test_truncated_audio_raises_a_clear_error(tmp_path: Path, fmt: str) -> None:
    path = make_audio(tmp_path / f"t.{fmt}", fmt, tags=FULL)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(AudioReadError, match=str(path)):
        read_tags(path)
