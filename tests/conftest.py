"""Fixtures come from one plugin module per real part of the system."""

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.sandbox",
    "tests.fixtures.library",
    "tests.fixtures.sync",
    "tests.fixtures.reliability",
]
