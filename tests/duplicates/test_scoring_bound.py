"""``scoring.below``, the batch's shortcut past ``score``: it may only say "below" of a pair
whose score is below the threshold (no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from duplicates import language, markers, minhash, normalize, signatures
from duplicates.features import Features, global_keys, retrieval_keys
from duplicates.identifiers import KINDS
from duplicates.language import LANGUAGES
from duplicates.lexicon import CONCEPTS
from duplicates.markers import MARKS
from duplicates.scoring import BELOW_READS, WEIGHTS, below, pair_features, score
from duplicates.tuning import side_features

PAIRS = Path(__file__).with_name("pairs.jsonl")
THRESHOLDS = (0.0, 0.3, 0.45, 0.58, 0.5805, 0.7, 0.9, 0.95, 1.0)
# The measures ``below`` does not read: flags, each 0 or 1, counted at their weight.
UNREAD = {"same_contact", "same_account", "other_codes", "solved_before", "question_before"}
UNREAD |= {"domain_only"}

WORDS = sorted(CONCEPTS)[:6] + ["transfer", "invoice", "shop", "wrong", "still", "rate"]
VALUES = ("a", "b", "c")
START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
TWO_HOURS = timezone(timedelta(hours=2))


@st.composite
def features(draw: st.DrawFn) -> Features:
    kinds = [*KINDS, "identity", "org", "service"]
    identifiers = {
        kind: frozenset(values)
        for kind in draw(st.lists(st.sampled_from(kinds), max_size=4, unique=True))
        if (values := draw(st.sets(st.sampled_from(VALUES), max_size=2)))
    }
    hours = draw(st.none() | st.integers(0, 24 * 60))
    return Features(
        tokens=tuple(draw(st.lists(st.sampled_from(WORDS), max_size=8))),
        subject_tokens=tuple(draw(st.lists(st.sampled_from(WORDS), max_size=3))),
        identifiers=identifiers,
        text_hash=draw(st.sampled_from(("h1", "h2", "h3"))),
        minhash=(),
        occurred_at=None if hours is None else START + timedelta(hours=hours),
        contact_id=draw(st.none() | st.integers(1, 2)),
        account_id=draw(st.none() | st.integers(1, 2)),
        language=draw(st.sampled_from(("en", "nl"))),
        marks=frozenset(draw(st.sets(st.sampled_from(MARKS)))),
    )


@settings(max_examples=400, deadline=None)
@given(features(), features(), st.sampled_from(THRESHOLDS) | st.floats(0, 1))
def test_below_only_when_the_score_is_below(new, old, threshold):
    """Whatever the evidence and threshold: "below" means the score is below."""
    if below(new, old, threshold):
        assert score(new, old) < threshold


def test_below_on_the_labelled_pairs():
    """On the 454 labelled pairs, at any threshold, it rejects only pairs scored below it,
    and at the default one most of those the detector does not flag (else it saves
    nothing)."""
    rows = [json.loads(line) for line in PAIRS.read_text().splitlines()]
    pairs = [(side_features(row["b"]), side_features(row["a"])) for row in rows]
    rejected = 0
    for new, old in pairs:
        scored = score(new, old)
        for threshold in THRESHOLDS:
            if below(new, old, threshold):
                assert scored < threshold, (new, old, threshold)
        rejected += below(new, old, 0.58)
    unflagged = sum(score(new, old) < 0.58 for new, old in pairs)
    assert rejected >= 0.5 * unflagged


def test_the_measures_below_does_not_read_are_flags():
    """``below`` counts each measure it does not compute at its weight (its value at most
    1): a new measure must be read by it or be such a flag."""
    assert set(WEIGHTS) - BELOW_READS == UNREAD
    rows = [json.loads(line) for line in PAIRS.read_text().splitlines()]
    for row in rows[:120]:
        measured = pair_features(side_features(row["b"]), side_features(row["a"]))
        assert set(measured) == set(WEIGHTS)
        assert all(measured[name] in (0.0, 1.0) for name in UNREAD)


def test_index_keys_are_hashed_once_and_handed_out_as_copies():
    """``retrieval_keys`` and ``global_keys`` keep what they hashed on the features; a
    caller that changes the list it got does not change what the next one gets."""
    features = Features(
        tokens=("transfer", "pending"),
        subject_tokens=(),
        identifiers={"domain": frozenset({"example.com"}), "identity": frozenset({"a@b.nl"})},
        text_hash="h",
        minhash=tuple(range(64)),
        contact_id=1,
        account_id=2,
    )
    keys, everywhere = retrieval_keys(features), global_keys(features)
    assert set(everywhere) < set(keys) and len(everywhere) == 2
    keys.clear()
    everywhere.append(1)
    assert retrieval_keys(features) == sorted(features.index_keys[0]) != []
    assert global_keys(features) == list(features.index_keys[1])
    assert "index_keys" in features.__dict__


@settings(max_examples=200, deadline=None)
@given(st.sets(st.text(max_size=6), max_size=12))
def test_minhash_signature_from_kept_rows_is_the_computed_one(items):
    """The signature from the rows kept per word equals the one computed from scratch."""
    hashes = [minhash.hash64(item) & minhash._MAX for item in items]
    expected = [
        min(((a * x + b) % minhash._PRIME for x in hashes), default=minhash._MAX)
        for a, b in minhash._PERMS
    ]
    assert minhash.signature(items) == expected
    assert minhash.signature(list(items) * 2) == expected  # repeats read once


LINES = [
    "Hello,",
    "",
    "The transfer of example.com fails.",
    "-- ",
    "--",
    "Sent from my iPhone",
    "Kind regards,",
    "Thanks",
    "Anna de Vries",
    "Northwind Domains",
    "On Tue, 5 Mar 2024 at 10:15, Support wrote:",
    "On Tue, 5 Mar 2024 at 10:15, Support <support@x.example>",
    "wrote:",
    "-----Original Message-----",
    "From: Support",
    "Sent: Tuesday",
    "_" * 24,
    "> We are looking into it.",
    "Ирина пишет 05.03.2024:",
    "still broken, order 4471203",
]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(LINES), max_size=14))
def test_stripping_stops_at_the_first_delimiter_as_the_full_cut(lines):
    """Looking for quote headers only up to the first signature delimiter cuts where the
    quote cut, then the signature cut, of every line did."""
    assert normalize._cut(lines) == normalize._cut_signature(normalize._cut_quotes(lines))
    text = "\n\n".join(["\n".join(lines), "\n".join(reversed(lines))])
    full = normalize._cut_signature(normalize._cut_quotes(text.split("\n")))
    assert normalize._cut(text.split("\n")) == full


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=1, max_size=14), st.sampled_from(LANGUAGES))
def test_a_number_stems_to_itself_as_the_stemmer_says(number, lang):
    """``language.stem`` returns a number as it is without the stemmer: what it returns."""
    stemmer = language._STEMMER["en" if lang == "ru" else lang]
    assert language.stem(number, lang) == number == stemmer.stemWord(number)


def test_the_ascii_copies_of_the_marks_patterns_find_what_the_patterns_find():
    """On ASCII text the copies without the alternatives that need a non-ASCII letter
    find what the case-blind patterns find (the labelled pairs' texts, and each phrase the
    patterns name); _CONTINUES's Russian phrases are left out of its copy."""
    rows = [json.loads(line) for line in PAIRS.read_text().splitlines()]
    texts = [f"{row[side]['subject']}\n{row[side]['body']}" for row in rows for side in "ab"]
    texts += ["still", "re: x", "already wrote", "how do i", "done", "noch immer", "todavia"]
    texts = [text for text in texts if text.isascii()]
    assert len(texts) > 400
    for pattern, fast in markers._FAST.items():
        assert 1 <= len(fast) <= 2
        for text in texts:
            found = any(each.search(text.lower()) for each in fast)
            assert found == bool(pattern.search(text)), text
    fast_continues = "|".join(each.pattern for each in markers._FAST[markers._CONTINUES])
    assert "опять" in markers._CONTINUES.pattern and "опять" not in fast_continues
    assert "^\\s*re" in fast_continues
    assert markers._ascii_only(r"(?:é|e)x|[ё]|ö?k|ök|ab") == ["(?:é|e)x", "[ё]", "ö?k", "ab"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.none() | st.integers(-(2**63), 2**63 - 1), max_size=30),
    st.lists(st.sampled_from([START, START + timedelta(hours=1), START.astimezone(TWO_HOURS)])),
)
def test_the_key_arrays_are_spelled_as_one_value_at_a_time(values, times):
    """The array literals the keys are inserted with, each repeated value spelled once,
    are the ones spelled value by value."""
    expected = "{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}"
    assert signatures._int_array(values) == expected
    assert signatures._int_array(tuple(values)) == expected
    spelled = "{" + ",".join(f'"{when.isoformat()}"' for when in times) + "}"
    assert signatures._time_array(times) == spelled


def _clean_line_by_line(stripped: str, prefix: str = "SD") -> str:
    """``normalize.clean_stripped`` as it was written before its lines were kept."""
    n = normalize
    lines = n.strip_ticket_tokens(stripped, prefix).split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if index < 3 and not n._GREETING_LEAD.match(line) and n._GREETING.match(line):
            continue
        stamped = n._CHAT_TIMESTAMP.match(line) is not None
        line = n._CHAT_TIMESTAMP.sub("", line, count=1)
        if n._CHAT_SYSTEM.match(line) or n._PHONE_PREAMBLE.match(line) or n._WHEN_LINE.match(line):
            continue
        line = n._FORM_LABEL.sub("", line, count=1)
        speaker = n._SPEAKER.match(line)
        if speaker and n._is_speaker_label(*speaker.group(1, 2)):
            if n._is_agent(*speaker.group(1, 2)):
                continue
            if stamped:
                line = speaker.group(3)
        line = n._GREETING_LEAD.sub("", line, count=1)
        if n._GREETING.match(line) or n._CLOSINGS.match(line):
            continue
        kept.append(line.strip())
    return "\n".join(line for line in kept if line)


CLEAN_LINES = [
    *LINES,
    "Hi team,",
    "Hola, la lista de dominios no carga",
    "Здравствуйте!",
    "[10:42] Anna: the transfer of northwind-shop.nl fails",
    "[10:43] Agent Mark: Which error do you see?",
    "10:44 Anna: auth code invalid",
    "*** Mark joined the chat ***",
    "Chat ended by visitor",
    "Call summary: customer called about DNS",
    "When it happened: yesterday",
    "Domain: shop.example",
    "Reseller ID: 200033",
    "Anna (customer): still down",
    "Ticket [SD-104233] again",
    "  Best regards  ",
]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(CLEAN_LINES), max_size=10))
def test_cleaning_line_by_line_kept_per_process_is_the_same(lines):
    """Each line's fate kept per process (it depends on the line and on whether it is
    among the first three only): the cleaned text is the one cleaned line by line."""
    text = "\n".join(lines)
    assert normalize.clean_stripped(text) == _clean_line_by_line(text)
    assert normalize.clean_stripped(text, "XY") == _clean_line_by_line(text, "XY")
