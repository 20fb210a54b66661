"""The naive pipeline the system is measured against: what a first attempt would build.

Word 5-shingles of the raw text (tags stripped, nothing else cleaned), datasketch's
MinHash LSH at threshold 0.8, first seen wins. Its scores show what the
normalization, the containment test and the fact guards buy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from datasketch import MinHash, MinHashLSH

_TAG = re.compile(r"<[^>]*>")


def _naive_text(rec: dict) -> str:
    body = rec.get("body")
    if not isinstance(body, str) or not body.strip():
        body = _TAG.sub(" ", rec.get("html") or "")
    return f"{rec.get('title') or ''} {body}"


def naive_decisions(records: Iterable[dict]) -> dict[str, str | None]:
    """Word 5-shingles (lower-case, whitespace split), MinHash 128, LSH 0.8, first seen wins.

    Every record is indexed; a record with candidates is a duplicate of the root (first
    seen member) of the earliest-seen candidate.
    """
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    first_seen: dict[str, int] = {}
    root: dict[str, str] = {}
    out: dict[str, str | None] = {}
    for n, rec in enumerate(records):
        rid = str(rec["id"])
        words = _naive_text(rec).lower().split()
        grams = {" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))}
        mh = MinHash(num_perm=128)
        mh.update_batch([g.encode("utf-8") for g in grams])
        cands = [c for c in lsh.query(mh) if c in first_seen]
        if cands:
            earliest = min(cands, key=lambda c: first_seen[c])
            out[rid] = root[earliest]
            root[rid] = root[earliest]
        else:
            out[rid] = None
            root[rid] = rid
        if rid not in first_seen:
            first_seen[rid] = n
            lsh.insert(rid, mh)
    return out
