"""Every catalogue entry speaks German: agencies read titles, meanings and remediations in their language."""

from __future__ import annotations

import re

import pytest

from checks.base import FindingSpec, Texts
from monitor.catalogue import all_specs
from monitor.models import Severity

SPECS = [spec for specs in all_specs().values() for spec in specs]

# words that give away an untranslated English sentence; German technical terms (Port, Firewall, Update) are fine
ENGLISH_ONLY = ("the", "is", "and", "not", "of", "with", "your", "should", "must", "this", "when", "only")
ENGLISH_WORD = re.compile(r"\b(?:" + "|".join(ENGLISH_ONLY) + r")\b", re.IGNORECASE)
CODE = re.compile(r"`[^`]*`")  # directives and settings quoted as code stay as they are


def prose(text: str) -> str:
    return CODE.sub(" ", text)


def test_the_catalogue_is_not_empty() -> None:
    assert len(SPECS) > 50


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.key)
def test_every_entry_has_german_texts(spec: FindingSpec) -> None:
    de = spec.de
    assert de is not None, f"{spec.key} has no German texts"
    for name in ("title", "meaning", "remediation"):
        text = getattr(de, name)
        assert text, f"{spec.key}: empty German {name}"
        assert text == text.strip(), f"{spec.key}: German {name} has surrounding white space"
    assert de.title != spec.title
    assert de.meaning != spec.meaning
    assert de.remediation != spec.remediation
    for name in ("title", "remediation"):
        found = ENGLISH_WORD.findall(prose(getattr(de, name)))
        assert not found, f"{spec.key}: German {name} contains English words {found}"


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.key)
def test_texts_choose_the_language(spec: FindingSpec) -> None:
    assert spec.texts("de") is spec.de
    assert spec.texts("de-DE") is spec.de
    english = spec.texts("en")
    assert english == Texts(spec.title, spec.meaning, spec.remediation)
    assert spec.texts("fr") == english


def test_an_entry_without_german_texts_falls_back_to_english() -> None:
    spec = FindingSpec("fake.noticed", Severity.LOW, "Noticed", "Something was noticed.", "Look at it.")
    assert spec.de is None
    assert spec.texts("de") == Texts("Noticed", "Something was noticed.", "Look at it.")
