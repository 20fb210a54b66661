"""How an editor re-edits wire copy: house style, headline case, word swaps, typos.

Pure functions of text and a seeded ``random.Random``, so a stream is the same
for a seed; the tables are our own writing, chosen so that each edit keeps the
facts (numbers, names) that the dedup guards compare.
"""

from __future__ import annotations

import random
import re

from streamer.evaluation.similarity import TICKER


def title_case(title: str) -> str:
    small = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "to", "vs"}
    words = []
    for i, w in enumerate(title.split()):
        lw = w.lower()
        if w.startswith("<") or (len(w) <= 4 and w.isupper() and "." in w):
            words.append(w)
        elif i > 0 and lw in small:
            words.append(lw)
        else:
            words.append(lw[:1].upper() + lw[1:])
    return " ".join(words)


def sentence_case(title: str) -> str:
    t = TICKER.sub("", title).lower()
    t = " ".join(t.split())
    return t[:1].upper() + t[1:]


# --- restyling (house style of a newspaper web site)

_MONEY = re.compile(
    r"\b(\d+(?:[.,]\d+)*(?:-\d+/\d+)?)\s+(mln|billion|bln)\s+(?:U\.S\.\s+)?(dlrs|dlr)\b",
    re.IGNORECASE,
)


def _thousands(text: str) -> str:
    return re.sub(
        r"(?<![\d.,/-])(\d{5,})(?![\d.,/-])",
        lambda m: f"{int(m.group(1)):,}",
        text,
    )


def _smart_quotes(text: str) -> str:
    text = re.sub(r'"(?=\w)', "\u201c", text)
    text = text.replace('"', "\u201d")
    return text.replace("'", "\u2019")


def restyle_text(text: str, rng: random.Random) -> str:
    dollar_sign = rng.random() < 0.5
    if dollar_sign:
        text = _MONEY.sub(
            lambda m: f"${m.group(1)} {'million' if m.group(2).lower() == 'mln' else 'billion'}",
            text,
        )
    text = re.sub(r"\bmln\b", "million", text)
    text = re.sub(r"\bbln\b", "billion", text)
    text = re.sub(r"\bdlrs?\b", "dollars", text)
    text = re.sub(r"\bpct\b", "percent", text)
    text = re.sub(r"\bcts\b", "cents", text)
    text = re.sub(r"\bqtr\b", "quarter", text, flags=re.IGNORECASE)
    text = TICKER.sub(lambda m: f"({m.group(1)})", text)
    text = _thousands(text)
    return _smart_quotes(text)


# --- light edits and machine-translation-like paraphrase

SYNONYMS: dict[str, list[str]] = {
    "said": ["says", "stated", "reported"],
    "company": ["firm", "group"],
    "companies": ["firms", "groups"],
    "rise": ["increase", "gain"],
    "rose": ["climbed", "increased", "gained"],
    "fell": ["declined", "dropped", "slipped"],
    "increase": ["rise", "gain"],
    "decline": ["drop", "fall"],
    "expected": ["anticipated", "forecast"],
    "about": ["around", "roughly"],
    "also": ["additionally", "as well"],
    "buy": ["purchase", "acquire"],
    "bought": ["purchased", "acquired"],
    "sell": ["dispose of", "divest"],
    "sold": ["disposed of", "divested"],
    "plan": ["intend", "propose"],
    "plans": ["intends", "proposes"],
    "agreed": ["consented", "accepted"],
    "shares": ["stock", "equity"],
    "government": ["administration", "authorities"],
    "officials": ["representatives", "authorities"],
    "market": ["marketplace", "exchange"],
    "year": ["twelve months"],
    "told": ["informed", "said to"],
    "however": ["nevertheless", "though"],
    "because": ["since", "as"],
    "announced": ["declared", "disclosed"],
    "profit": ["earnings", "gain"],
    "loss": ["deficit", "shortfall"],
    "week": ["seven days"],
    "sources": ["people familiar with the matter"],
    "big": ["large", "major"],
    "major": ["big", "leading"],
    "trade": ["commerce", "trading"],
    "prices": ["rates", "quotations"],
    "price": ["rate", "quotation"],
    "increased": ["raised", "boosted"],
    "reduced": ["cut", "lowered"],
    "higher": ["up", "greater"],
    "lower": ["down", "smaller"],
    "agreement": ["accord", "deal"],
    "talks": ["negotiations", "discussions"],
    "begin": ["start", "commence"],
    "end": ["finish", "close"],
    "help": ["assist", "support"],
}

FUNCTION_WORDS: dict[str, list[str]] = {
    "the": ["a", "this", ""],
    "a": ["one", "the", ""],
    "of": ["from", "for"],
    "in": ["within", "at"],
    "on": ["upon", "about"],
    "to": ["towards", "in order to"],
    "for": ["regarding", "towards"],
    "with": ["along with", "together with"],
    "and": ["as well as", "while"],
    "will": ["is going to", "shall"],
    "which": ["that", "what"],
    "that": ["which", ""],
    "is": ["was", "remains"],
    "was": ["has been", "is"],
    "by": ["via", "through"],
    "it": ["this", "he"],
    "its": ["his", "their"],
    "at": ["in", "by"],
    "from": ["of", "out of"],
    "but": ["however", "yet"],
    "has": ["had", "have"],
    "would": ["will", "should"],
}

COMMENTARY = (
    "Analysts said the move had been widely anticipated.",
    "The announcement came after the close of trading.",
    "A spokesman declined to comment further.",
    "Market reaction was muted in early dealings.",
    "Further details were not immediately available.",
    "The news was in line with earlier indications.",
)


def _match_case(word: str, repl: str) -> str:
    if not repl:
        return repl
    if word.isupper() and len(word) > 1:
        return repl.upper()
    if word[:1].isupper():
        return repl[:1].upper() + repl[1:]
    return repl


def replace_words(
    text: str, table: dict[str, list[str]], prob: float, rng: random.Random, limit: int | None
) -> tuple[str, int]:
    count = 0

    def sub(m: re.Match[str]) -> str:
        nonlocal count
        word = m.group(0)
        choices = table.get(word.lower())
        if not choices or (limit is not None and count >= limit) or rng.random() >= prob:
            return word
        count += 1
        return _match_case(word, rng.choice(choices))

    out = re.sub(r"[A-Za-z]+", sub, text)
    return re.sub(r"  +", " ", out).replace(" ,", ","), count


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i + 1 :]


def add_typos(text: str, n: int, rng: random.Random) -> str:
    words = text.split(" ")
    idx = [i for i, w in enumerate(words) if w.isalpha() and w.islower() and len(w) >= 5]
    for i in rng.sample(idx, min(n, len(idx))):
        words[i] = _typo(words[i], rng)
    return " ".join(words)
