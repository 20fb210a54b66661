"""Records built to be slow to prepare: the adversarial set of ``make bench`` (issue 15).

Each case repeats one trigger (of a regex family, a fixpoint loop, a tag kind, a
character class) until the record reaches the size it is built for: passes that
loop to a fixpoint, rescan from each position or backtrack show up as time that
grows faster than the record. ``bench.adversarial`` times them; the tests check
that normalizing each stays a fixpoint. All of it is made here, no real text.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

LEAD = "Some story text here. "


@dataclass(frozen=True)
class Case:
    """A record built by repeating ``unit`` in ``field`` (between ``head`` and ``tail``)."""

    field: str
    unit: str
    head: str = ""
    tail: str = ""
    close: str = ""  # repeated as often as ``unit``, after it: the closing half of nesting
    end: str = ""
    title: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    def record(self, name: str, size: int) -> bytes:
        """The record's JSON value, as close to ``size`` bytes as whole units allow."""
        fixed = self._encode(name, 0)
        unit_bytes = max(1, len(orjson.dumps(self.unit + self.close)) - 2)
        reps = max(1, (size - len(fixed)) // unit_bytes)
        value = self._encode(name, reps)
        while len(value) > size and reps > 1:
            reps = max(1, reps * size // len(value) - 1)
            value = self._encode(name, reps)
        return value

    def _encode(self, name: str, reps: int) -> bytes:
        data: dict[str, str] = {"id": name}
        if self.title is not None:
            data["title"] = self.title
        data.update(self.extra)
        text = self.head + self.unit * reps + self.tail + self.close * reps + self.end
        if self.field == "body":
            text = LEAD + text
        data[self.field] = text
        if "body" not in data and "html" not in data:
            data["body"] = LEAD + "and a little more text to keep the record valid."
        return orjson.dumps(data)


_PAGE_HEAD = "<html><head><title>A page</title></head><body><article><p>" + LEAD + "</p>"


def _page(unit: str, tail: str = "", close: str = "") -> Case:
    """A full page (so trafilatura runs) with ``unit`` repeated in its article."""
    end = "</article></body></html>"
    return Case("html", unit, head=_PAGE_HEAD, tail=tail, close=close, end=end)


def _cases() -> dict[str, Case]:
    """The catalogue, one line a case, grouped by the code path each one attacks.

    Longer than a function should be on purpose: it is a table, read top to bottom when a
    new text pass lands ("which of its loops does a case reach?"); split across helpers it
    would hide which groups exist."""
    c: dict[str, Case] = {}
    # Markup: nesting per tag kind, unclosed and stray brackets, entities that become angles.
    c["nested_angles"] = Case("body", "<", tail="x", close=">")
    c["nested_angles_letters"] = Case("body", "<x", close=">")
    c["nested_angles_names"] = Case("body", "<A", close=">")
    c["nested_angles_tickers"] = Case("body", "<0", close=">")
    c["entity_angles"] = Case("body", "&lt;", tail="x", close="&gt;")
    c["entity_angles_letters"] = Case("body", "&lt;a", close="&gt;")
    c["stray_open_angles"] = Case("body", "< ")
    c["stray_close_angles"] = Case("body", "> ")
    c["empty_angle_pairs"] = Case("body", "<>")
    c["ticker_tags"] = Case("body", "<KUMT.TOK> ")
    c["name_tags"] = Case("body", "<Li Ka-shing Foundations Ltd> ")
    c["long_angle_pair"] = Case("body", "a", head="<", tail=">")
    c["long_angle_pair_space"] = Case("body", "a", head="< ", tail=">")
    for tag in ("div", "p", "span", "a", "b", "li", "table", "script", "nav", "iframe"):
        c[f"nested_{tag}_body"] = Case("body", f"<{tag}>", tail="x", close=f"</{tag}>")
        c[f"nested_{tag}_page"] = _page(f"<{tag}>", "x", f"</{tag}>")
    c["unclosed_tags"] = Case("body", "<a href='x' ")
    c["open_tag_no_gt"] = Case("body", "<a")
    c["comments_unclosed"] = Case("body", "<!-- x ")
    c["comment_open_close"] = Case("body", "<!-- x --> y ")
    c["br_flood"] = Case("body", "<br>")
    c["script_unclosed_page"] = _page("<script>x ")
    c["many_paragraph_tags_page"] = _page("<p>word word word.</p>")
    c["long_attribute_tags"] = Case("body", "<p " + "a" * 1990 + ">x")
    c["long_attribute_drop_tags"] = Case("body", "<script " + "a" * 1990 + ">x")
    c["meta_tags_page"] = _page("<meta a='b' property='og:title' x ")
    c["title_tags_page"] = _page("<title a='b'>")
    c["cdata_page"] = _page("<![CDATA[ x ")
    c["markup_in_title"] = Case("body", "x ", title="<b>" * 600)
    c["entities_amp"] = Case("body", "&amp;")
    c["entity_nested_amp"] = Case("body", "amp;", head="&", tail=" x")
    c["entities_numeric"] = Case("body", "&#8217;")
    # Paragraph trims that run to a fixpoint.
    c["credits_inline"] = Case("body", "(reporting by John Smith) ")
    c["credits_paragraphs"] = Case("body", "Text (reporting by John Smith)\n\n")
    c["credit_then_signoff"] = Case("body", "T. (reporting by A) Reuter ")
    c["datelines_inline"] = Case("body", "LONDON, Jan 1 (Reuters) - ", head="", tail="x")
    c["datelines_paragraphs"] = Case("body", "LONDON (Reuters) - Related:\n\n")
    c["ad_then_signoff_paragraphs"] = Case("body", "Advertisement. Reuter\n\n")
    c["signoff_paragraphs"] = Case("body", "Reuter. Reuter\n\n")
    c["signoffs"] = Case("body", "REUTER\n\n")
    c["title_repeated_paragraphs"] = Case("body", "Ab cd\n\n", title="Ab cd")
    c["bylines"] = Case("body", "By John Smith\n")
    c["byline_names"] = Case("body", "By John Smith, Jane Doe and Al Bo, ", tail="\n")
    c["share_lines"] = Case("body", "Share\n")
    c["share_words_line"] = Case("body", "share ")
    c["related_block"] = Case("body", "- item\n", head="Related articles\n")
    c["gallery_heads"] = Case("body", "Photo gallery\nx\n")
    c["gallery_blocks"] = Case("body", "Photo gallery\nA caption\nShowing 3 photos\n")
    c["copyright_lines"] = Case("body", "© 2024 Site all rights reserved\n")
    c["promo_lines"] = Case("body", "Subscribe to our newsletter\n")
    c["read_more_lines"] = Case("body", "Read more: x\n")
    c["gallery_end_lines"] = Case("body", "Showing 3 photos\n")
    c["bullet_lines"] = Case("body", "- x\n")
    c["credit_lines"] = Case("body", "Reporting by Jane Doe\n")
    c["candidate_prefixes"] = Case("body", "share the story of the day\n")
    c["empty_lines"] = Case("body", "\n")
    c["short_lines"] = Case("body", "a\n")
    c["indented_lines"] = Case("body", "    a\n")
    c["terminal_punct_lines"] = Case("body", ";)\n")
    # Tokens and the phrases of special_phrases.
    c["per_cent"] = Case("body", "per cent ")
    c["nz_dlrs"] = Case("body", "new zealand dlrs ")
    c["dollar_words"] = Case("body", "dollar ")
    c["cent_words"] = Case("body", "cent ")
    c["amounts"] = Case("body", "1.5 mln dlrs ")
    c["currency_amounts"] = Case("body", "hk $1 ")
    c["thousands_groups"] = Case("body", "1,000,", tail="1")
    c["huge_number"] = Case("body", "1")
    c["dotted_digits"] = Case("body", "1.")
    c["leading_dot_digits"] = Case("body", ".1 ")
    c["acronym_run"] = Case("body", "a.")
    c["acronym_words"] = Case("body", "U.S. ")
    c["apostrophes"] = Case("body", "x's ")
    c["ticker_parens"] = Case("body", "(abc.de) ")
    c["huge_token"] = Case("body", "a")
    c["mixed_case_token"] = Case("body", "aB")
    # Facts.
    c["names"] = Case("body", "Aaa ")
    c["caps_run"] = Case("body", "A")
    c["months"] = Case("body", "May ")
    c["month_abbreviations"] = Case("body", "Sept. ")
    c["sentence_starts"] = Case("body", "\n - A")
    c["sentence_names"] = Case("body", "Mr. Smith. ")
    c["hyphen_names"] = Case("body", "O'Neil-", tail="x")
    c["title_words_vs_body"] = Case("body", "a", title=" ".join(["aa"] * 650))
    c["title_distinct_words_vs_body"] = Case(
        "body", "a", title=" ".join("a" * k for k in range(2, 62))
    )
    c["title_possessives_vs_body"] = Case("body", "aa's ", title=" ".join(["aa"] * 650))
    # Characters: NFKC expansion, mojibake, invisible and combining characters, scripts.
    c["nfkc_expanding"] = Case("body", "\ufdfa")
    c["ligatures"] = Case("body", "\ufb03")
    c["nfkc_expanding_entities"] = Case("body", "&#65018;")
    c["nfkc_expanding_in_prose"] = Case("body", "The minister said \ufdfa today. ")
    c["ellipses"] = Case("body", "\u2026")
    c["mojibake"] = Case("body", "Ã© ")
    c["zero_width"] = Case("body", "a\u200b")
    c["combining_marks"] = Case("body", "e\u0301")
    c["mixed_scripts"] = Case("body", "aд中ا ")
    c["crlf"] = Case("body", "a\r\n")
    c["smart_quotes"] = Case("body", "\u201cx\u201d ")
    # Runs of punctuation and brackets.
    for name, unit in {
        "spaces": " ",
        "tabs": "\t",
        "dots": ".",
        "bangs": "!",
        "open_parens": "(",
        "close_parens": ")",
        "dashes": "-",
        "em_dashes": "\u2014",
        "quotes": '"',
        "pipes": " | ",
        "dollars": "$",
        "percent_signs": "%",
    }.items():
        c[f"run_{name}"] = Case("body", unit, tail=" x")
    # PA wire layout (``text.wire``) and the fact rules of real rewrites (issue 14).
    c["wire_paragraph_ends"] = Case("body", "x<\n")
    c["wire_slug_lines"] = Case("body", "12:34 21/06/00: Page 1 (HHH) COURTS X\n")
    c["wire_control_paragraphs"] = Case("body", "\n\x19a<")
    c["caps_opener"] = Case("body", "A' ", head="\n\n", tail="x")
    c["caps_opener_quotes"] = Case("body", "'AB'CD' ", head="\n\n", tail="x")
    c["glued_units"] = Case("body", "24in ")
    # Titles (capped at 2,000 characters) and the other fields.
    c["title_prefixes"] = Case("body", "x ", title="UPDATE 1-" * 220)
    c["title_pipes"] = Case("body", "x ", title="a | " * 500)
    c["title_dashes"] = Case("body", "x ", title="a - news " * 220)
    c["url_path"] = Case("url", "a/", head="http://example.com/")
    c["url_query"] = Case("url", "a=1&", head="http://example.com/?")
    c["url_host"] = Case("url", "a.", head="http://", tail="com/")
    c["url_percent"] = Case("url", "%", head="http://example.com/")
    c["language_tag"] = Case("language", "-abcdefgh", head="en")
    c["published_at"] = Case("published_at", "1", head="2024-")
    return c


CASES: dict[str, Case] = _cases()
