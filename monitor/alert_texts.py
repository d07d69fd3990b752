"""What people read in an alert, in the agency's language: the title, a one-line summary for a phone
notification, and the evidence cut to a budget (the finding's page, `link`, has all of it)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from monitor.alert_format import payload
from monitor.catalogue import SEVERITY_DE, finding_texts
from monitor.models import EventType, FindingEvent, Language, Severity

# A phone shows about two lines of a notification on its lock screen, and an SMS holds 160 characters: 120 leave
# room for a relay's own prefix.
SUMMARY_MAX = 120
# Evidence in an alert is a pointer, not the record: 1 KiB keeps the largest alerts (BSI compliance, German
# remediation) well inside the 4 KiB that push services (APNs, FCM) carry, and the first failures in view.
DETAIL_BUDGET = 1024

# what happened, when the finding's own title does not say it (an opened finding's title is the news)
EVENT_WORDS: dict[EventType, dict[Language, str]] = {
    EventType.FINDING_ESCALATED: {"de": "Hochgestuft", "en": "Escalated"},
    EventType.FINDING_RESOLVED: {"de": "Behoben", "en": "Resolved"},
    EventType.FINDING_REMINDER: {"de": "Erinnerung", "en": "Reminder"},
    EventType.FINDING_OVERDUE: {"de": "Frist überschritten", "en": "Overdue"},
    EventType.FINDING_ACCEPTANCE_EXPIRED: {"de": "Risikoakzeptanz abgelaufen", "en": "Acceptance expired"},
    EventType.FINDING_FLAPPING: {"de": "Instabil", "en": "Flapping"},
    EventType.ENDPOINT_RECOVERED: {"de": "Behoben", "en": "Resolved"},
}
# events whose title already says what happened ("Endpunkt wieder erreichbar"): the word goes into the summary only
_TITLE_SAYS_IT = frozenset({EventType.ENDPOINT_RECOVERED})


@dataclass(frozen=True, slots=True)
class AlertTexts:
    title: str
    summary: str
    remediation: str


def alert_texts(event: FindingEvent, endpoint: str, language: Language) -> AlertTexts:
    texts = finding_texts(event.key, event.title, event.remediation, language)
    severity = severity_word(event.severity, language)
    word = EVENT_WORDS.get(event.type, {}).get(language)
    if word is None:
        title, lead = texts.title, severity.capitalize()
    else:
        title = texts.title if event.type in _TITLE_SAYS_IT else f"{word}: {texts.title}"
        lead = f"{word} ({severity})"
    return AlertTexts(title, summary_line(lead, texts.title, endpoint), texts.remediation)


def severity_word(severity: Severity, language: Language) -> str:
    return SEVERITY_DE[severity] if language == "de" else severity.label


def one_line(text: str) -> str:
    """`text` without line breaks, control or format characters (a server's banner may hold any of them)."""
    kept = (" " if unicodedata.category(char)[0] == "C" or char in "\u2028\u2029" else char for char in text)
    return " ".join("".join(kept).split())


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word where one is near, with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–") + "…"


def summary_line(lead: str, title: str, endpoint: str, limit: int = SUMMARY_MAX) -> str:
    """`lead: title – endpoint` on one line of at most `limit` characters; the title gives way first."""
    lead, title, endpoint = one_line(lead), one_line(title), one_line(endpoint)
    frame = f"{lead}:  – {endpoint}"
    if len(frame) + len(title) <= limit:
        line = f"{lead}: {title} – {endpoint}"
    elif limit - len(frame) >= 20:
        line = f"{lead}: {shorten(title, limit - len(frame))} – {endpoint}"
    else:
        line = shorten(f"{lead}: {title} – {endpoint}", limit)  # a very long host name
    return line.strip()


def wire_size(value: Any) -> int:
    """Bytes of `value` as the publisher sends it."""
    return len(payload(value))


MIN_STRING = 16  # characters a cut string keeps at least


def cut_detail(detail: Any, budget: int = DETAIL_BUDGET) -> tuple[Any, bool]:
    """The evidence within `budget` bytes of JSON, and whether it was cut. Keys always stay (the shape is as
    documented); long strings are cut first, as little as fits, so every item of a list stays named; only when
    that is not enough are lists cut to their first items."""
    if wire_size(detail) <= budget:
        return detail, False
    longest_string, longest_list = _extent(detail)
    items = max(longest_list, 1)
    while True:
        cut = _fit_strings(detail, items, longest_string, budget)
        if cut is not None:
            return cut, True
        if items == 1:
            return _cut(detail, MIN_STRING, 1), True  # as small as it gets: keys the checks chose, not a server
        items = max(items // 2, 1)


def _fit_strings(detail: Any, items: int, longest: int, budget: int) -> Any | None:
    """`detail` with lists of at most `items` and strings as long as fits `budget`; None if none fits."""
    best = None
    low, high = MIN_STRING, max(longest, MIN_STRING)
    while low <= high:
        middle = (low + high) // 2
        cut = _cut(detail, middle, items)
        if wire_size(cut) <= budget:
            best, low = cut, middle + 1
        else:
            high = middle - 1
    return best


def _extent(value: Any) -> tuple[int, int]:
    """The longest string and the longest list in `value`."""
    if isinstance(value, str):
        return len(value), 0
    children = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else []
    strings, items = 0, len(value) if isinstance(value, list) else 0
    for child in children:
        child_strings, child_items = _extent(child)
        strings, items = max(strings, child_strings), max(items, child_items)
    return strings, items


def _cut(value: Any, strings: int, items: int) -> Any:
    if isinstance(value, str):
        return shorten(value, strings)
    if isinstance(value, list):
        return [_cut(item, strings, items) for item in value[:items]]
    if isinstance(value, dict):
        return {key: _cut(item, strings, items) for key, item in value.items()}
    return value
