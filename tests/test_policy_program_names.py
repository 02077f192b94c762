"""Program names as policy patterns compare them: the version suffix is dropped in
linear time, since the name comes from the agent's command."""

from __future__ import annotations

import re
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from canopy.decisions.policy.commands import _without_version, canonical_program

_REFERENCE = re.compile(r"[0-9][0-9.]*$")


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab.19-", max_size=12))
def test_version_suffix_matches_the_regex_reference(name: str) -> None:
    assert _without_version(name) == _REFERENCE.sub("", name)


def test_interpreters_lose_their_version() -> None:
    assert canonical_program("/usr/bin/python3.11") == "python"
    assert canonical_program("pip-3.11") == "pip"
    assert canonical_program("node20") == "node"
    assert canonical_program("x264") == "x264"  # not an interpreter: kept whole


def test_a_long_run_of_digits_is_linear() -> None:
    """120,000 digits took 36 s with the regex (each digit rescanned the run)."""
    name = "1" * 120_000 + "x"
    started = time.perf_counter()
    assert canonical_program(name) == name
    assert time.perf_counter() - started < 1.0
