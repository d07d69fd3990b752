"""Version ordering: the documented examples, then properties over generated versions (hypothesis)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checks.patches.versions import compare, version_key

ASCENDING = [
    # OpenSSH portable: the p-release follows its base version, the next minor follows all p-releases
    ["7.2", "7.2p2", "7.4", "7.4p1", "7.4p2", "7.7p1", "8.0", "8.9p1", "9.3p1", "9.3p2", "9.8", "9.8p1", "10.0"],
    ["2.4.9", "2.4.38", "2.4.49", "2.4.50", "2.4.51"],  # Apache: numeric, not text, order
    ["4.86", "4.86_2", "4.87", "4.91", "4.94", "4.94.1", "4.94.2"],  # Exim
    ["1.3.5rc1", "1.3.5", "1.3.5a", "1.3.5b", "1.3.5e", "1.3.6"],  # ProFTPD letter releases
    ["0.6.18", "1.3.9", "1.4.0", "1.17.7", "1.18.0", "1.20.0", "1.20.1"],  # nginx
    ["2.2.36", "2.2.36.4", "2.3.0", "2.3.7.2"],  # Dovecot
    ["12.1", "12.1-55.297", "12.1-55.300", "13.0-91.13", "13.1-49.13", "13.1-49.15", "14.1-8.50"],  # NetScaler
    ["9.0.0-M1", "9.0.0-M27", "9.0.0", "9.0.1", "9.0.99"],  # Tomcat milestones
    ["1.0-dev", "1.0alpha1", "1.0beta2", "1.0rc1", "1.0", "1.0p1", "1.0.1"],
]


@pytest.mark.parametrize("versions", ASCENDING, ids=lambda v: v[0])
def test_documented_orderings(versions: list[str]) -> None:
    for older, newer in itertools.pairwise(versions):
        assert compare(older, newer) == -1, (older, newer)
        assert compare(newer, older) == 1, (newer, older)
    assert sorted(reversed(versions), key=version_key) == versions


@pytest.mark.parametrize(
    ("left", "right"), [("1.0", "1.0.0"), ("7.4", "7.4.0"), ("2.4.049", "2.4.49"), ("1.0RC1", "1.0rc1")]
)
def test_equal_spellings(left: str, right: str) -> None:
    assert compare(left, right) == 0
    assert version_key(left) == version_key(right)


numbers = st.lists(st.integers(min_value=0, max_value=999), min_size=1, max_size=5)
suffixes = st.sampled_from(["", "p1", "p2", "rc1", "a", "b", "-M3", "_2", "beta1"])
versions = st.builds(lambda n, s: ".".join(map(str, n)) + s, numbers, suffixes)


@given(versions, versions)
def test_compare_is_antisymmetric_and_matches_the_key(a: str, b: str) -> None:
    assert compare(a, b) == -compare(b, a)
    assert (compare(a, b) < 0) == (version_key(a) < version_key(b))


@given(versions, versions, versions)
def test_compare_is_transitive(a: str, b: str, c: str) -> None:
    ordered = sorted([a, b, c], key=version_key)
    assert compare(ordered[0], ordered[1]) <= 0 and compare(ordered[1], ordered[2]) <= 0
    assert compare(ordered[0], ordered[2]) <= 0


@given(numbers, st.integers(min_value=0, max_value=998))
def test_raising_any_component_makes_a_newer_version(parts: list[int], at: int) -> None:
    index = at % len(parts)
    raised = [*parts[:index], parts[index] + 1, *parts[index + 1 :]]
    assert compare(".".join(map(str, parts)), ".".join(map(str, raised))) == -1


@given(numbers, st.integers(min_value=1, max_value=30))
def test_openssh_portable_releases_sit_between_the_base_and_the_next_version(parts: list[int], patch: int) -> None:
    base = ".".join(map(str, parts))
    following = ".".join(map(str, [*parts[:-1], parts[-1] + 1]))
    assert compare(base, f"{base}p{patch}") == -1
    assert compare(f"{base}p{patch}", f"{base}p{patch + 1}") == -1
    assert compare(f"{base}p{patch}", following) == -1
    assert compare(f"{base}rc{patch}", base) == -1
