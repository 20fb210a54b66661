"""METER (real editorial reuse): the wire-ordered stream, its reuse pairs and their scores.

Every other figure of ``make eval`` comes from rewrites our own code generates.
METER (``../shared/data/meter-dev.jsonl.gz``, see that directory's README) holds
Press Association wire copy and what British papers printed on the same stories,
rewritten by their editors: the reuse a republisher really makes.

The labels are story-level (same ``beat`` + ``date`` + ``catchline``), and a story
holds heavy rewrites and articles the papers wrote themselves too, so the pairs
scored are those the text itself shows to be reuse: the shorter text shares at
least half (or 80%) of its word 5-grams (lower-cased ``\\w+`` tokens) with the
other. A pair is *linked* (strictly) when both members end in one cluster, and
*linked at story level* when they do or either record's ``match.also`` names the
other's cluster: PA sends a story in takes, one cluster each, and a paper's article
stitched from several joins one and names the others. Strict is the figure the
goals are set on; story level is beside it. Different stories
filed on the same day and beat (other court cases that day) are the negatives: a
pair of them in one cluster is a false merge. The corpus files a few PA texts
under two catchlines word for word (``bbc``, ``bbcstreet`` and ``street`` on
10.08.99 share takes): a pair in which either text is also filed under the other's
story is not a pair of different stories, and is left out.

The stream is in wire order: PA copy at the time in its slug line (``15:51
01/03/00: Page 1 ...``), papers at 06:00 UTC the morning after the story's day.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from streamer.evaluation.corpus import load_jsonl

METER_FILE = "meter-dev.jsonl.gz"
GOAL_LINKED_50 = 0.90
GOAL_LINKED_80 = 1.0
GOAL_FALSE_MERGES = 0.0001


@dataclass(frozen=True, slots=True)
class Clusters:
    """A system's view of the stream: record id -> its cluster's id, and -> the other
    clusters its record names in ``match.also`` (absent: none)."""

    cluster: dict[str, str]
    also: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def linked(self, a: str, b: str) -> bool:
        """Both in one cluster (the strict reading)."""
        return a in self.cluster and self.cluster[a] == self.cluster.get(b)

    def story_linked(self, a: str, b: str) -> bool:
        """Linked, or either record names the other's cluster in ``also``."""
        if self.linked(a, b):
            return True
        ca, cb = self.cluster.get(a), self.cluster.get(b)
        if ca is None or cb is None:
            return False
        return cb in self.also.get(a, ()) or ca in self.also.get(b, ())


ClusterSystem = Callable[[list[dict]], Clusters]

_SLUG_TIME = re.compile(r"(\d\d):(\d\d) (\d\d)/(\d\d)/(\d\d):")
_WORD = re.compile(r"\w+")
_PAPERS_AT = timedelta(days=1, hours=6)


@dataclass(frozen=True, slots=True)
class MeterText:
    id: str
    kind: str  # "pa" (wire copy) or "np" (a newspaper's article)
    story: tuple[str, str, str]  # beat, date, catchline
    text: str
    published_at: datetime


def _story_day(date: str) -> datetime:
    day, month, year = (int(x) for x in date.split("."))
    return datetime(2000 + year if year < 50 else 1900 + year, month, day, tzinfo=UTC)


def wire_time(kind: str, date: str, text: str) -> datetime:
    """When the text reached readers: PA's slug time, or the next morning for a paper."""
    day = _story_day(date)
    if kind == "pa":
        m = _SLUG_TIME.search(text[:600])
        if m is not None:
            hh, mm, dd, mo, yy = (int(x) for x in m.groups())
            try:
                return datetime(2000 + yy if yy < 50 else 1900 + yy, mo, dd, hh, mm, tzinfo=UTC)
            except ValueError:
                pass
        return day + timedelta(hours=12)
    return day + _PAPERS_AT


def load_meter(path: str | Path) -> list[MeterText]:
    """The corpus's texts in wire order (ties in file order); ids are unique."""
    texts = []
    for n, obj in enumerate(load_jsonl(path, "METER")):
        kind, date = str(obj["kind"]), str(obj["date"])
        story = (str(obj["beat"]), date, str(obj["catchline"]))
        text = str(obj["text"])
        texts.append(
            MeterText(
                id=f"{story[0]}/{date}/{obj['catchline']}/{obj['file']}",
                kind=kind,
                story=story,
                text=text,
                published_at=wire_time(kind, date, text),
            )
        )
        if texts[-1].id in {t.id for t in texts[:-1]}:
            texts[-1] = MeterText(f"{texts[-1].id}#{n}", kind, story, text, texts[-1].published_at)
    order = sorted(range(len(texts)), key=lambda i: (texts[i].published_at, i))
    return [texts[i] for i in order]


def meter_records(texts: Sequence[MeterText]) -> list[dict]:
    """The input records of the stream, as ``news.raw`` would carry them (body only)."""
    return [
        {
            "id": t.id,
            "source": "PA" if t.kind == "pa" else t.id.rpartition("_")[2],
            "body": t.text,
            "published_at": t.published_at.isoformat(),
        }
        for t in texts
    ]


def word_grams(text: str, n: int = 5) -> frozenset[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return frozenset(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def shared_share(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    """The share of the shorter text's 5-grams found in the other (0 if either has none)."""
    if not a or not b:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return len(small & large) / len(small)


@dataclass
class MeterPairs:
    """The scored pairs: (earlier id, later id, share) of reuse, and the negatives."""

    reuse: list[tuple[str, str, float]] = field(default_factory=list)
    negatives: list[tuple[str, str]] = field(default_factory=list)
    verbatim_refiled: int = 0  # negatives left out: a text the corpus filed under both stories

    def at_least(self, share: float) -> list[tuple[str, str, float]]:
        return [p for p in self.reuse if p[2] >= share]


def meter_pairs(texts: Sequence[MeterText], min_share: float = 0.5) -> MeterPairs:
    """Same-story pairs sharing >= ``min_share`` of 5-grams; different-story same-day-beat pairs."""
    grams = [word_grams(t.text) for t in texts]
    filed: dict[tuple[str, str, str], set[str]] = {}
    for t in texts:
        filed.setdefault(t.story, set()).add(t.text)
    out = MeterPairs()
    for i, j in itertools.combinations(range(len(texts)), 2):
        a, b = texts[i], texts[j]
        if a.story == b.story:
            share = shared_share(grams[i], grams[j])
            if share >= min_share:
                out.reuse.append((a.id, b.id, share))
        elif a.story[:2] == b.story[:2]:
            if a.text in filed[b.story] or b.text in filed[a.story]:
                out.verbatim_refiled += 1
            else:
                out.negatives.append((a.id, b.id))
    return out


@dataclass(frozen=True, slots=True)
class MeterScores:
    linked_50: int
    pairs_50: int
    linked_80: int
    pairs_80: int
    false_merges: int
    negatives: int
    # The same at story level (``Clusters.story_linked``): not what the goals are set on.
    story_50: int = 0
    story_80: int = 0
    story_false_merges: int = 0

    def rate(self, linked: int, pairs: int) -> float:
        return linked / pairs if pairs else 0.0

    @property
    def met(self) -> bool:
        return (
            self.rate(self.linked_50, self.pairs_50) >= GOAL_LINKED_50
            and self.linked_80 >= GOAL_LINKED_80 * self.pairs_80
            and self.false_merges <= GOAL_FALSE_MERGES * self.negatives
        )


def score_meter(clusters: Clusters, pairs: MeterPairs) -> MeterScores:
    def count(test: Callable[[str, str], bool], items: Iterable[tuple[str, str, float]]) -> int:
        return sum(1 for a, b, _ in items if test(a, b))

    p50, p80 = pairs.at_least(0.5), pairs.at_least(0.8)
    negatives = [(a, b, 0.0) for a, b in pairs.negatives]
    strict, story = clusters.linked, clusters.story_linked
    return MeterScores(
        count(strict, p50),
        len(p50),
        count(strict, p80),
        len(p80),
        count(strict, negatives),
        len(negatives),
        story_50=count(story, p50),
        story_80=count(story, p80),
        story_false_merges=count(story, negatives),
    )


def format_meter(results: dict[str, MeterScores]) -> str:
    """Two lines per system, strict (same cluster; the goals') and story level (or named
    in ``match.also``): linked >= 50% and >= 80%, false merges; goals beside."""
    lines = [
        f"{'METER dev':<16} {'linked >=50%':>16} {'linked >=80%':>14} {'false merges':>18}",
    ]
    for name, s in results.items():
        for label, n50, n80, merged in (
            (name, s.linked_50, s.linked_80, s.false_merges),
            (f"{name} story", s.story_50, s.story_80, s.story_false_merges),
        ):
            lines.append(
                f"{label:<16} {n50:>4}/{s.pairs_50:<4} {s.rate(n50, s.pairs_50):>6.1%}"
                f" {n80:>4}/{s.pairs_80:<4}{s.rate(n80, s.pairs_80):>5.0%}"
                f" {merged:>6}/{s.negatives:<6}{s.rate(merged, s.negatives):>6.2%}"
            )
    lines.append(
        f"goals: >= {GOAL_LINKED_50:.0%} of >=50% pairs, all >=80% pairs, false merges "
        f"<= {GOAL_FALSE_MERGES:.2%}"
        + "".join(f"; {n}: {'met' if s.met else 'missed'}" for n, s in results.items())
        + " (strict; story level: same cluster or named in match.also)"
    )
    return "\n".join(lines)


def run_meter(path: str | Path, systems: dict[str, ClusterSystem]) -> str:
    """The METER report; raises ``CorpusMissingError`` when the file is absent."""
    texts = load_meter(path)
    pairs = meter_pairs(texts)
    records = meter_records(texts)
    head = (
        f"METER dev: {len(texts)} texts in {len({t.story for t in texts})} stories; "
        f"{len(pairs.at_least(0.5))} same-story pairs sharing >=50% of 5-grams, "
        f"{len(pairs.at_least(0.8))} >=80%; {len(pairs.negatives)} different-story "
        f"same-day-beat pairs ({pairs.verbatim_refiled} left out: a text filed under both)"
    )
    results = {name: score_meter(system(records), pairs) for name, system in systems.items()}
    return head + "\n" + format_meter(results)
