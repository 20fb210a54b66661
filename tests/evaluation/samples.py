"""A story of our own writing in the corpus' shape, so generator tests need no corpus."""

from __future__ import annotations

STORY = {
    "newid": 90001,
    "date": "1987-03-02T14:05:00Z",
    "title": "ACME WIDGET CORP <ACW> TO BUY BOLT MAKER FOR 120 MLN DLRS",
    "dateline": "CHICAGO, March 2 -",
    "body": (
        "Acme Widget Corp said it agreed to buy\nprivately held Bolt Industries Inc for "
        "about 120 mln dlrs in\ncash and stock.\n    The company said the purchase would "
        "add about 15 pct\nto its annual sales and that it expected the deal to close in "
        "the\nsecond quarter.\n    Bolt Industries, based in Gary, Ind., makes fasteners "
        "for\nthe car and appliance industries and had sales of 210 mln dlrs\nlast year. "
        'Acme said it plans to keep Bolt\'s 1,800 workers.\n    "This is a good fit," '
        "chairman John Parr said. The company also\nsaid it would fund the cash part "
        "from its credit lines.\n Reuter\n"
    ),
    "places": ["usa"],
    "topics": ["acq"],
}


def contract_ok(rec: dict) -> bool:
    """The input contract of news.raw, as much of it as a generated record must meet."""
    if not isinstance(rec.get("id"), str) or not rec["id"]:
        return False
    if "title" in rec and not isinstance(rec["title"], str):
        return False
    return any(isinstance(rec.get(k), str) and rec[k].strip() for k in ("body", "html"))
