"""What a fact key means, and when two facts are one written two ways.

``facts`` writes these keys and the dedup guards compare them, so the prefixes are
part of the journal format (entries carry their facts). The comparisons forgive
exactly the differences rewrites make without changing the news: a figure that lost
or changed its scale word ("348.2 billion" / "348.2 bilion"), a name with one typo.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

# Entity keys: a bare key is a name; the others are told apart by their first character.
TICKER_PREFIX = "$"  # a ticker: the strongest identity there is
LOOSE_PREFIX = "~"  # a word that only may be a name: support for a match, never against it
TITLE_PREFIX = "^"  # a title word the body does not use (the company of a templated notice)
# Number keys: a canonical number token, or a month; a repeated one carries its count.
DATE_PREFIX = "@"  # a month ("@4" for April)
REPEAT_MARK = "#"  # the n-th mention of the same figure ("20#2")


def number_value(token: str) -> Decimal | None:
    """The value of a canonical number token, or None for "4th", "1-1/2" and the like."""
    try:
        value = Decimal(token.partition(REPEAT_MARK)[0])
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


_THOUSAND = Decimal(1000)


def figure_key(token: str) -> str:
    """A number token with its scale factored out (powers of a thousand), occurrence kept.

    Two tokens with equal keys are one figure written with different scale words:
    "348.2 billion" and "348.2 bilion" (a typo loses the scale) give 348.2 both.
    Dates and tokens that are not plain numbers are their own key.
    """
    base, mark, nth = token.partition(REPEAT_MARK)
    value = number_value(base)
    if value is None or value == 0:
        return token
    value = abs(value)
    while value >= _THOUSAND:
        value /= _THOUSAND
    while value < 1:
        value *= _THOUSAND
    return f"{value.normalize():f}{mark}{nth}"


def same_figure(a: str, b: str) -> bool:
    """True if two number tokens are one figure written with another scale word.

    "348.2 billion" and "348.2 bilion" (a typo loses the scale) differ by a power of
    a thousand; 10 cts and 1 ct, or 66 and 65.50, do not.
    """
    if a == b:
        return True
    if a.partition(REPEAT_MARK)[2] != b.partition(REPEAT_MARK)[2]:
        return False
    va, vb = number_value(a), number_value(b)
    if va is None or vb is None or va == 0 or vb == 0:
        return False
    big, small = (va, vb) if abs(va) >= abs(vb) else (vb, va)
    ratio = big / small
    return ratio in _THOUSANDS


_THOUSANDS = frozenset(Decimal(10) ** (3 * k) for k in range(1, 5))


def near_spelling(a: str, b: str) -> bool:
    """One edit (insert, delete, substitute, swap adjacent) apart, for words of 5+ letters."""
    la, lb = len(a), len(b)
    if min(la, lb) < 5 or abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) <= 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if la < lb:
        a, b = b, a
    # a is one longer than b: deleting one letter of a must give b
    i = 0
    while i < len(b) and a[i] == b[i]:
        i += 1
    return a[i + 1 :] == b[i:]
