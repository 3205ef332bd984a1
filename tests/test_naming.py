"""Names on disk: nasty names from every OS come out valid, stable and unique."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidal_sync_assets.disk.naming import (
    MAX_COMPONENT_BYTES,
    PLACEHOLDER,
    STEM_RESERVED_BYTES,
    assign_file_names,
    assign_folders,
    sanitize_component,
    track_stem,
)
from tidal_sync_assets.tidal.snapshot import TidalTrack

DEVICE_NAMES = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{d}" for p in ("COM", "LPT") for d in "123456789"
}


def assert_valid(name: str) -> None:
    assert name
    assert name not in {".", ".."}
    assert not set('/\\:*?"<>|') & set(name)
    assert not any(unicodedata.category(ch) in {"Cc", "Cs"} for ch in name)
    assert not name.endswith((".", " "))
    assert not name[-1].isspace() and not name[0].isspace()
    assert not name.startswith(".")
    assert name.split(".")[0].rstrip(" ").upper() not in DEVICE_NAMES
    assert unicodedata.normalize("NFC", name) == name
    assert len(name.encode("utf-8")) <= MAX_COMPONENT_BYTES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("AC/DC", "AC_DC"),
        ('Mix: "Best" <of> 2024? *|\\', "Mix_ _Best_ _of_ 2024_ ___"),
        ("tab\there\nnewline\x00nul\x7fdel", "tab_here_newline_nul_del"),
        ("Trailing dots...", "Trailing dots"),
        ("trailing spaces   ", "trailing spaces"),
        ("  leading spaces", "leading spaces"),
        (".hidden", "_hidden"),
        (".", PLACEHOLDER),
        ("..", PLACEHOLDER),
        ("", PLACEHOLDER),
        (" . . ", PLACEHOLDER),
        ("CON", "CON_"),
        ("con.txt", "con_.txt"),
        ("Lpt9.mp3", "Lpt9_.mp3"),
        ("COM¹", "COM¹_"),
        ("CONCERT", "CONCERT"),
        ("Caf\u0065\u0301", "Café"),  # NFD in, NFC out
        ("🎧 Late Night 🌙 Mix", "🎧 Late Night 🌙 Mix"),
        ("深夜のドライブ", "深夜のドライブ"),
        ("Ночь", "Ночь"),
        ("موسيقى", "موسيقى"),
        ("👩‍👩‍👧 family", "👩‍👩‍👧 family"),
    ],
)
def test_nasty_names_from_every_os_come_out_valid(raw: str, expected: str) -> None:
    assert sanitize_component(raw) == expected
    assert_valid(sanitize_component(raw))


def test_long_names_are_cut_on_a_character_boundary_within_255_bytes() -> None:
    name = sanitize_component("🎧" * 100)  # 4 bytes each
    assert name == "🎧" * 63
    assert len(sanitize_component("é" * 200).encode()) == 254  # 2 bytes each: 255 would split one
    # The cut lands after " . ": no trailing dot or space is left behind.
    assert sanitize_component("a" * 252 + " . b" * 10) == "a" * 252


@given(st.text(max_size=400))
def test_any_text_sanitizes_to_a_valid_idempotent_name(raw: str) -> None:
    name = sanitize_component(raw)
    assert_valid(name)
    assert sanitize_component(name) == name


@given(
    st.lists(
        st.sampled_from(["CON", "con", ".", " ", "a", "é", "e\u0301", "🎧", "/", "\x00"]),
        max_size=80,
    )
)
def test_names_built_from_hostile_pieces_are_valid(pieces: list[str]) -> None:
    name = sanitize_component("".join(pieces))
    assert_valid(name)
    assert sanitize_component(name) == name


def test_a_track_stem_is_artist_dash_title_with_version() -> None:
    track = TidalTrack(1, "Strobe", ("deadmau5", "Kaskade"), version="Club Edit")
    assert track_stem(track) == "deadmau5, Kaskade - Strobe (Club Edit)"
    already = TidalTrack(2, "Strobe (Club Edit)", ("deadmau5",), version="Club Edit")
    assert track_stem(already) == "deadmau5 - Strobe (Club Edit)"
    assert track_stem(TidalTrack(3, "Back In Black", ("AC/DC",))) == "AC_DC - Back In Black"


def test_a_track_stem_leaves_room_for_suffix_and_extension() -> None:
    stem = track_stem(TidalTrack(1, "ü" * 300, ("Artist",)))
    assert len(stem.encode()) <= MAX_COMPONENT_BYTES - STEM_RESERVED_BYTES
    file_name = assign_file_names([(1, stem + ".flac", None), (2, stem + ".flac", None)])[2]
    assert file_name.endswith(" (2).flac")
    assert_valid(file_name)


def test_playlists_whose_names_collide_case_insensitively_get_distinct_folders() -> None:
    folders = assign_folders([("b", "House", None), ("a", "house", None), ("c", "HOUSE", None)])
    assert folders == {"a": "house", "b": "House (2)", "c": "HOUSE (3)"}


def test_folder_assignment_does_not_depend_on_input_order() -> None:
    playlists = [
        ("p1", "Mix", None),
        ("p2", "mix", None),
        ("p3", "Mix (2)", None),
        ("p4", "Mix?", None),
    ]
    assert assign_folders(playlists) == assign_folders(list(reversed(playlists)))


def test_a_new_playlist_never_takes_a_folder_from_an_existing_one() -> None:
    # "zzz" sorts last but already holds "Mix"; the newcomer "aaa" must step aside.
    folders = assign_folders([("aaa", "Mix", None), ("zzz", "Mix", "Mix")])
    assert folders == {"zzz": "Mix", "aaa": "Mix (2)"}


def test_a_disambiguated_folder_is_kept_after_the_collision_is_gone() -> None:
    assert assign_folders([("p2", "Mix", "Mix (2)")]) == {"p2": "Mix (2)"}


def test_a_renamed_playlist_gets_its_new_name() -> None:
    assert assign_folders([("p", "Summer 2025", "Summer 2024")]) == {"p": "Summer 2025"}


def test_a_playlist_named_like_a_suffixed_folder_does_not_steal_it() -> None:
    folders = assign_folders([("a", "Mix", "Mix (2)"), ("b", "Mix (2)", None), ("c", "Mix", "Mix")])
    assert folders == {"a": "Mix (2)", "b": "Mix (2) (2)", "c": "Mix"}


def test_a_playlist_with_an_unsanitized_current_folder_is_moved_to_a_valid_one() -> None:
    assert assign_folders([("p", "A/B", "A/B")]) == {"p": "A_B"}


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Mix", "mix", "MIX", "Mix (2)", "CON", "", ".", "a" * 300]),
            st.booleans(),
        ),
        max_size=12,
    )
)
def test_assigned_folders_are_always_valid_and_unique(specs: list[tuple[str, bool]]) -> None:
    first = assign_folders([(f"id{i}", name, None) for i, (name, _) in enumerate(specs)])
    # Every playlist keeps its folder on the next run, whatever it held.
    again = assign_folders([(f"id{i}", name, first[f"id{i}"]) for i, (name, _) in enumerate(specs)])
    assert again == first
    assert len({folder.casefold() for folder in first.values()}) == len(first)
    for folder in first.values():
        assert_valid(folder)


def test_tracks_whose_file_names_collide_are_disambiguated_before_the_extension() -> None:
    names = assign_file_names(
        [
            (10, "Artist - Song.flac", None),
            (20, "artist - song.flac", None),
            (30, "Artist - Song.mp3", None),
        ]
    )
    assert names == {
        10: "Artist - Song.flac",
        20: "artist - song (2).flac",
        30: "Artist - Song.mp3",
    }


def test_a_track_keeps_its_disambiguated_file_name() -> None:
    names = assign_file_names([(20, "A - B.flac", "A - B (2).flac"), (10, "A - B.flac", None)])
    assert names == {20: "A - B (2).flac", 10: "A - B.flac"}
