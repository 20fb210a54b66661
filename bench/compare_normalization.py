"""What normalization buys the dedup decision, measured in one run.

Runs the same pipeline twice over the same inputs: once with ``normalize`` as
it is, once with a first-version normalization (tags stripped, entities
unescaped, whitespace folded, words case-folded; no extraction, boilerplate
removal, Unicode repair or unit canonicalization). Prints, for each, how many of
the sample feed's expected duplicates are found and how many look-alike pairs
are merged, and, when the Reuters corpus is here, precision/recall/F1 on the
labeled evaluation stream.

    python bench/compare_normalization.py [--originals 800]
"""

from __future__ import annotations

import argparse
import html as html_lib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from streamer import pipeline
from streamer.evaluation.corpus import REUTERS_FILE, load_reuters
from streamer.evaluation.scoring import score
from streamer.evaluation.stream import build_stream
from streamer.evaluation.systems import published_links
from streamer.files_io import dedup_records
from streamer.text.content import NormalizedText

REPO = Path(__file__).resolve().parent.parent
_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"\w+")


def minimal_normalize(
    *, title: str | None, body: str | None, html: str | None, language: str | None = None
) -> NormalizedText:
    text = html_lib.unescape(_TAG.sub(" ", html)) if html else (body or "")
    text = " ".join(text.split())
    title = " ".join((title or "").split())
    return NormalizedText(
        title=title,
        text=text,
        fp_title=" ".join(_WORD.findall(title.casefold())),
        fp_body=" ".join(_WORD.findall(text.casefold())),
        language=language,
    )


@contextmanager
def first_version_normalization() -> Iterator[None]:
    # The pipeline is where normalize_content is looked up, so that is where it is replaced.
    with mock.patch.object(pipeline, "normalize_content", minimal_normalize):
        yield


def decisions(records: list[dict] | list[bytes]) -> dict[str, str | None]:
    return published_links(dedup_records(records))


def sample_feed_figures() -> tuple[int, int, int, int]:
    lines = (REPO / "streamer/samples/feed.jsonl").read_bytes().splitlines()
    expected = json.loads((REPO / "streamer/samples/expected.json").read_text())
    got = decisions([ln for ln in lines if ln.strip()])
    found = sum(1 for rw in expected["duplicates"] if got.get(rw) is not None)
    merged = sum(
        1 for group in expected["distinct_groups"] if any(got.get(i) is not None for i in group)
    )
    return found, len(expected["duplicates"]), merged, len(expected["distinct_groups"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--originals", type=int, default=800)
    args = ap.parse_args()

    rows = []
    for name, ctx in (("first version", first_version_normalization), ("normalize", None)):
        if ctx is None:
            feed = sample_feed_figures()
        else:
            with ctx():
                feed = sample_feed_figures()
        rows.append((name, feed))
    print("sample feed: expected duplicates found / look-alike pairs wrongly merged")
    for name, (found, total, merged, groups) in rows:
        print(f"  {name:<14} {found}/{total} found, {merged}/{groups} merged")

    try:
        stories = load_reuters(REPO.parent / "shared" / "data" / REUTERS_FILE)
    except Exception as exc:  # corpus absent
        print(f"evaluation stream skipped: {exc}")
        return
    records, labels = build_stream(stories, args.originals, 1.5, 160, 7)
    print(f"evaluation stream: {len(records)} records")
    for name, ctx in (("first version", first_version_normalization), ("normalize", None)):
        if ctx is None:
            s = score(decisions(records), labels)
        else:
            with ctx():
                s = score(decisions(records), labels)
        print(
            f"  {name:<14} precision {s.precision:.3f} recall {s.recall:.3f} F1 {s.f1:.3f} "
            f"hard-negative FP {s.hard_negative_fp_rate:.3f}"
        )


if __name__ == "__main__":
    main()
