"""The prepare stage's fast paths give exactly the answers of the plain definitions.

Each fast path (a rewritten regex, a pre-check, a shortcut around a library call)
is compared here with the straightforward form it replaces, on generated inputs
drawn from the characters that matter to it.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamer import facts, normalize

# The patterns as they were written before they were restructured for speed.
_MONTH_PLAIN = re.compile(
    r"\b(?:"
    + "|".join(
        f"{name.capitalize()}|{name.upper()}"
        for name in sorted(facts._MONTHS, key=len, reverse=True)
    )
    + r")\b\.?"
)
_NAME_PLAIN = re.compile(r"\b(?:[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)*|[A-Z][A-Z&]{1,11})\b")

_WORDISH = st.sampled_from(
    [
        "May", "MAY", "may", "Sept", "SEPT.", "September", "Septembers", "Jan.", "Mar",
        "March", "Dec", "DECEMBER", "Quaker", "Quaker's", "O'Neil", "Smith-Jones", "AT&T",
        "IBM", "Ltd", "Oats", "OATS'S", "oats's", "it's", "Co", "x", "_", "9", "1987",
        "é", "Émile", "ſ", "K", "'", "’", "-", ".", ",", " ", "\n", "(", "<", ">",
    ]
)  # fmt: skip
_TEXTS = st.lists(_WORDISH, max_size=30).map("".join)


@settings(max_examples=400)
@given(_TEXTS)
def test_month_and_name_patterns_match_their_plain_forms(text: str) -> None:
    def spans(pattern: re.Pattern[str]) -> list[tuple[int, int]]:
        return [m.span() for m in pattern.finditer(text)]

    assert spans(facts._MONTH) == spans(_MONTH_PLAIN)
    assert spans(facts._NAME) == spans(_NAME_PLAIN)


@settings(max_examples=400)
@given(_TEXTS, _TEXTS)
def test_body_keys_answer_as_the_set_of_every_body_word_key(body: str, title: str) -> None:
    direct = {facts._key(w) for w in facts._WORD.findall(body)}
    keys = facts._BodyKeys(body)
    probes = {facts._key(w) for w in facts._WORD.findall(title + " " + body)}
    probes |= {p + "'s" for p in probes} | {p[:-2] for p in probes if p.endswith("'s")}
    for probe in probes:
        assert (probe in keys) == (probe in direct), probe


def test_title_keys_with_possessives_and_capital_s() -> None:
    # Expected values are what the plain definition (a set of every body word's key) gave.
    assert facts._title_keys("QUAKER OATS", "The oats's price") == ["~quaker", "^quaker", "~oats"]
    assert facts._title_keys("QUAKER OATS", "The OATS'S price")[-1] == "^oats"
    assert facts._title_keys("QUAKER OATS'S", "The OATS'S price")[-1] == "~oats's"
    assert facts._title_keys("QUAKER OATS", "The oats-price rose")[-1] == "^oats"
    assert facts._title_keys("QUAKER OATS", "goats and boats")[-1] == "^oats"


_URL_HOSTS = st.text(alphabet="abx9-.", min_size=1, max_size=10)
_URL_PATHS = st.text(alphabet="az09-._~/AZ", max_size=16)


@settings(max_examples=500)
@given(st.sampled_from(["http://", "https://"]), _URL_HOSTS, _URL_PATHS)
def test_canonical_url_fast_path_agrees_with_courlan(scheme: str, host: str, path: str) -> None:
    url = scheme + host + path
    assert normalize.canonical_url(url) == normalize._canonical_url_general(url)


def test_canonical_url_fast_path_examples() -> None:
    assert normalize.canonical_url("https://wire.example/story/12") == (
        "https://wire.example/story/12"
    )
    assert normalize.canonical_url("https://wire.example") == "https://wire.example/"
    assert normalize.canonical_url(" http://a.b/x/ ") == "http://a.b/x/"
    for url in ("https://xn--bcher-kva.example/a", "https://a.b/../c", "https://a.b//c"):
        assert normalize.canonical_url(url) == normalize._canonical_url_general(url)


_UNIT_STARTS = st.sampled_from(
    ["", "S", "s", "ſ", "K", "K", "T", "t", "-", "(", "©", "•", "9", "Ⅸ", "é", "By", "by ",
     "X ", "in pictures", "Reuters", "Share", "SHARE", "Ad ", "ad", "The ", "Said"]
)  # fmt: skip


@settings(max_examples=400)
@given(_UNIT_STARTS, st.text(max_size=12))
def test_candidate_dispatch_agrees_with_the_full_pattern(start: str, rest: str) -> None:
    unit = start + rest
    assert normalize._is_candidate_unit(unit) == bool(normalize._CANDIDATE_RE.match(unit))


def test_candidate_dispatch_every_character() -> None:
    for cp in range(0x250):
        for unit in (chr(cp), chr(cp) + "y ", chr(cp) + "hare", chr(cp) + "d"):
            assert normalize._is_candidate_unit(unit) == bool(normalize._CANDIDATE_RE.match(unit))


@settings(max_examples=400)
@given(st.text(alphabet="ab.éU S'1", max_size=20))
def test_acronym_hint_finds_every_acronym(text: str) -> None:
    if normalize._ACRONYM_RE.search(text):
        assert normalize._ACRONYM_HINT_RE.search(text)


_SPECIAL_PIECES = st.sampled_from(
    ["0", "1", "12", "1,500", ".5", "3.25", "$", "us$", "hk $", "£", "€", "¥", "<", ">", "(",
     ")", "kumt.tok", "oat", "per", "cent", "per cent", "percent", "pct", "%", "dlrs", "dlr",
     "dollar", "dollars", "us", "new zealand", "hong kong", "canadian", "mln", "bn", "k", "m",
     "b", "cts", "yen", "a", "s", "x", "_", ".", ",", " ", "  ", "\n", "\u3000", "é", "٣"]
)  # fmt: skip


@settings(max_examples=1500)
@given(st.lists(_SPECIAL_PIECES, max_size=25).map("".join))
def test_special_sub_agrees_with_re_sub(text: str) -> None:
    expected = normalize._SPECIAL_RE.sub(normalize._special_tokens, text)
    assert normalize._special_sub(text) == expected


def test_special_sub_examples() -> None:
    for text in (
        "new zealand dlrs and new zealand 5 dlrs",
        "a recent 1.5 mln dlrs (kumt.tok) per cent hk $ 3 mn",
        "x" * 40 + " per  cent " + "y" * 40 + "9",
        "(((((((((((((((((((( 1",
    ):
        assert normalize._special_sub(text) == normalize._SPECIAL_RE.sub(
            normalize._special_tokens, text
        )


def _initials(pattern: re.Pattern[str]) -> set[str]:
    """The literal first characters of a pattern's alternatives (each must start with one)."""
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]

    items = _parser.parse(pattern.pattern, pattern.flags)
    op, av = items[0]
    while op is c.SUBPATTERN:
        op, av = av[-1][0]
    branches = av[1] if op is c.BRANCH else [[(op, av)]]
    out = set()
    for branch in branches:
        op, av = branch[0]
        while op is c.SUBPATTERN:
            op, av = av[-1][0]
        assert op is c.LITERAL, (op, av)
        out.add(chr(av))
    return out


def test_head_initials_are_the_first_letters_of_the_patterns() -> None:
    for pattern, initials in (
        (normalize._GALLERY_HEAD_RE, normalize._GALLERY_HEAD_INITIALS),
        (normalize._RELATED_HEAD_RE, normalize._RELATED_HEAD_INITIALS),
    ):
        letters = _initials(pattern)
        assert all(ch.isascii() and ch.isalpha() for ch in letters)
        assert {x for ch in letters for x in (ch.lower(), ch.upper())} == set(initials)
        assert pattern.flags & re.IGNORECASE


@settings(max_examples=400)
@given(
    st.text(alphabet=' \n\t.!?:;"“”([-–—xA1²_\u3000', max_size=6),
    st.sampled_from(["x", "A", "1", "²", "é", "٣"]),
)
def test_mid_sentence_shortcut_agrees_with_sentence_start(before: str, alnum: str) -> None:
    text = before + alnum + " Name"
    start = len(text) - 4
    if text[start - 1] == " " and text[start - 2].isalnum():
        assert facts._SENTENCE_START.search(text, max(0, start - 4), start) is None


def test_token_hashes_survive_the_cache_clearing_mid_text(monkeypatch: pytest.MonkeyPatch) -> None:
    from streamer import fingerprint

    tokens = [f"t{i % 37}" for i in range(200)]
    expected = fingerprint.Fingerprinter()._token_hashes(tokens)
    monkeypatch.setattr(fingerprint, "_TOKEN_CACHE_LIMIT", 5)
    small = fingerprint.Fingerprinter()
    assert small._token_hashes(tokens).tolist() == expected.tolist()
    assert small._token_hashes(tokens[::-1]).tolist() == expected.tolist()[::-1]


_ENGLISHISH = st.lists(
    st.sampled_from(
        ["The", "the", "THE", "of", "And", "said", "U.S.", "1.5", "mln", "Der", "die", "x_y",
         "it's", "a.b", "é", " ", "  ", "\n", ",", "."]
    ),
    max_size=60,
).map(" ".join)  # fmt: skip


@settings(max_examples=400)
@given(_ENGLISHISH)
def test_plainly_english_ascii_path_agrees_with_casefolding_each_word(sample: str) -> None:
    words = [w.casefold() for w in normalize._LETTERS_RE.findall(sample)]
    hits = sum(1 for w in words if w in normalize._ENGLISH_MARKERS)
    expected = len(words) >= 12 and "the" in words and hits >= 0.15 * len(words)
    assert normalize._plainly_english(sample) == expected


@settings(max_examples=400)
@given(st.text(alphabet="aZ09._ -'\n\x1c", max_size=30))
def test_ascii_word_pattern_agrees_on_ascii_text(text: str) -> None:
    assert normalize._ASCII_WORD_RE.findall(text) == normalize._WORD_RE.findall(text)


@settings(max_examples=1500)
@given(st.text(alphabet="ab.éU S'1_\n", max_size=24))
def test_join_acronyms_agrees_with_re_sub(text: str) -> None:
    expected = normalize._ACRONYM_RE.sub(lambda m: m.group(0).replace(".", ""), text)
    assert normalize._join_acronyms(text) == expected


def test_special_reach_follows_the_qualifier_and_currency_lists() -> None:
    qualifiers = re.search(r"\(\?P<qual>([^()]*)\)", normalize._QUAL)
    assert qualifiers is not None
    assert qualifiers.group(1).split("|") == list(normalize._DOLLAR_QUALIFIERS)
    prefixes = re.search(r"\(\?:([^()]*)\)\?\\s\?\\\$", normalize._CURRENCY_PREFIX)
    assert prefixes is not None
    # a prefix, one space, then the "$" anchor
    assert max(map(len, prefixes.group(1).split("|"))) + 1 == normalize._SPECIAL_CHAR_REACH
