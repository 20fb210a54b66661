"""Substitution in aligned context (dedup.align) and the contained kind."""

from __future__ import annotations

import numpy as np

from streamer.config import DedupSettings, Settings
from streamer.dedup.align import ItemTokens, key_spellings, substituted
from streamer.dedup.index import DedupIndex
from streamer.files_io import dedup_records, records_from_dicts
from streamer.pipeline import Pipeline
from streamer.records import Prepared
from streamer.text.fingerprint import Fingerprinter
from streamer.text.tokens import fingerprint_tokens

HASHER = Fingerprinter()


def _fingerprints(text: str) -> np.ndarray:
    return np.sort(HASHER.shingles(fingerprint_tokens(text)).astype(np.uint16))


def _item(text: str) -> ItemTokens:
    return ItemTokens(HASHER.token_hashes(fingerprint_tokens(text)), HASHER)


def test_a_figure_in_the_others_place_is_a_substitution() -> None:
    cand = _fingerprints("the company lowers its copper price to 65.50 cts a lb from today")
    item = _item("the company raises its copper price to 66 cts a lb from today")
    # Fact keys are fingerprint tokens: 66 cts is 0.66 usd.
    assert substituted(item, ["0.66"], ["0.655"], cand)


def test_a_fact_added_beside_others_is_not() -> None:
    # The paper adds the age; the wire has a figure of its own elsewhere.
    cand = _fingerprints("john smith of luton was jailed for 3 years at luton crown court")
    item = _item("john smith 24 of luton was jailed at luton crown court yesterday")
    assert not substituted(item, ["24"], ["3"], cand)


def test_a_name_in_the_others_place_is_a_substitution() -> None:
    cand = _fingerprints("hog receipts at omaha were estimated at 5000 head")
    item = _item("hog receipts at sioux city were estimated at 5000 head")
    # The guard hands over every name the other version lacks: both words of the town.
    assert substituted(item, ["sioux", "city"], ["omaha"], cand)
    # One word of it alone is a run with "city" on its right, which the candidate lacks.
    assert not substituted(item, ["sioux"], ["omaha"], cand)


def test_a_name_of_two_words_in_the_others_place_is_a_substitution() -> None:
    cand = _fingerprints("the court heard judge peter jones say the sentence was too light")
    item = _item("the court heard judge john smith say the sentence was too light")
    assert substituted(item, ["john", "smith"], ["peter", "jones"], cand)


def test_one_side_of_a_fact_in_the_others_place_is_not_enough() -> None:
    # The wire writes "ethics in office" in another sentence; the paper's "ethics in
    # Britain" has other words on its right. One shingle in common (or one 16-bit
    # collision) is not the same sentence saying another thing.
    cand = _fingerprints("he spoke of standards of ethics in office for twenty minutes")
    item = _item("he spoke of the state of ethics in britain being more lax than before")
    assert not substituted(item, ["britain"], ["office"], cand)
    # Both sides, with a one-word fact between the same words, is.
    swapped = _item("he spoke of standards of ethics in britain for twenty minutes")
    assert substituted(swapped, ["britain"], ["office"], cand)


def test_a_figure_in_a_run_of_figures_needs_one_side() -> None:
    # The midsession report and the close: every figure of the sentence moved, so the
    # substituted one shares only the words on one side with the other version.
    cand = _fingerprints("soybean futures held gains of three to 6 1 0.02 usd per bushel")
    item = _item("soybean futures closed with gains of 4 to 9 1 0.04 usd per bushel")
    assert substituted(item, ["9"], ["6"], cand, both_sides=False)
    assert not substituted(item, ["9"], ["6"], cand)


def test_spellings_of_fact_keys() -> None:
    assert key_spellings("20#2") == (("20",),)
    assert ("april",) in key_spellings("@4")
    assert key_spellings("bennett-jenkins") == (("bennett", "jenkins"),)


def test_context_hash_is_the_shingle_hash() -> None:
    # The probes align.py computes are the low 16 bits of Fingerprinter's own shingle hash.
    toks = ["raises", "copper", "price"]
    assert HASHER.shingle_hash(toks) & 0xFFFF == int(_fingerprints(" ".join(toks))[0])


def test_a_part_held_in_a_whole_is_contained() -> None:
    lead = (
        "A deep-sea diver who suffered a broken back in an accident hundreds of feet under "
        "the North Sea has received 115,000 pounds in an out-of-court settlement. He was "
        "working off the coast of Denmark when a crane lowered a metal frame on top of him."
    )
    rest = (
        " Despite the agony he inched his way back to a diving bell and waited three days "
        "in a decompression chamber before he could be treated. He returned to work six "
        "months later, but two years after that doctors declared him medically unfit. His "
        "lawyers said the settlement was a fair end to a long fight for compensation, and "
        "the company said it had changed its lifting procedures since the accident. The "
        "hearing was told that the frame weighed several tonnes and that the crane driver "
        "could not see the diver from his cab. A safety officer on the ship had warned "
        "about the lifting gear a week before, according to papers filed with the court, "
        "and the diving contractor later replaced the whole system on its three vessels. "
        "Colleagues described him as the most experienced diver on the crew, a man who "
        "had worked on rigs across the world for nearly twenty years before the injury."
    )
    records = [
        {"id": "brief", "body": lead, "published_at": "2000-03-01T10:00:00Z"},
        {"id": "article", "body": lead + rest, "published_at": "2000-03-02T06:00:00Z"},
    ]
    decision = dedup_records(records, Settings(dedup=DedupSettings()))[1].decision
    assert decision is not None and decision.duplicate_of == "brief"
    assert decision.match is not None and decision.match.kind == "contained"
    assert decision.match.part == "duplicate_of"
    assert decision.match.share is not None and decision.match.share >= 0.6


def test_spellings_of_one_name_support_each_other() -> None:
    from streamer.dedup.guards import abbreviates, unsupported

    assert abbreviates("beds", "bedfordshire") and abbreviates("sgt", "sergeant")
    assert not abbreviates("kent", "essex") and not abbreviates("beds", "beds")
    assert unsupported(frozenset({"bathurst-norman"}), frozenset({"bathurst", "norman"})) == []
    assert unsupported(frozenset({"nan"}), frozenset({"nan-joo"})) == []
    assert unsupported(frozenset({"omaha"}), frozenset({"sioux", "city"})) == ["omaha"]


def test_a_procedural_line_is_not_a_part_of_another_case() -> None:
    line = "He was remanded in custody to appear before the court again next week."
    other_case = (
        "A company director who stole from his firm to pay gambling debts was jailed for "
        "four years. The court heard he had taken the money over six years and hid the "
        f"losses in false invoices. {line} His solicitor said he was deeply ashamed and "
        "had repaid part of the money. The judge told him the breach of trust was grave. "
        "Colleagues described a quiet man who worked late and never took a holiday, and "
        "the firm's auditors had praised his accounts for years before a new manager "
        "noticed that payments to a supplier in the north had doubled without any order "
        "to match them. Police found betting slips in his car and a second set of books "
        "at his home. He admitted the thefts at his first appearance and asked for other "
        "offences to be taken into consideration. The firm said it had since changed the "
        "way invoices were approved, so that no one person could sign off a payment, and "
        "thanked the staff who had helped the inquiry through a difficult winter for all. "
        "Outside the court his wife read a short statement asking for privacy for their "
        "children, who had learned of the case from a neighbour, and said the family would "
        "stand by him while he served his sentence and rebuilt his life after prison. A "
        "charity for problem gamblers said cases like his were rising across the region."
    )
    records = [
        {"id": "brief", "body": line, "published_at": "2000-03-01T10:00:00Z"},
        {"id": "case", "body": other_case, "published_at": "2000-03-01T11:00:00Z"},
    ]
    pipeline = Pipeline(Settings())
    brief, case = (pipeline.prepare_one(r) for r in records_from_dicts(records))
    assert isinstance(brief, Prepared) and isinstance(case, Prepared)

    def verdict(settings: DedupSettings) -> object:
        index = DedupIndex(settings)
        index.add(brief.entry)
        derived = index._derived(case.entry)
        index._table.put(derived.sketch, 1)
        try:
            return index._similar(case.entry, derived, index.store.find_id("brief"))
        finally:
            index._table.put(derived.sketch, 0)

    # The line is all inside the other case's report (containment 1.0)...
    assert verdict(DedupSettings(min_shingles_for_containment=8)) is not None
    # ...and too short a part to rest a match on.
    assert verdict(DedupSettings()) is None
