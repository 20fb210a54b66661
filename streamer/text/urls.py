"""One spelling per article URL, so re-fetched and re-shared links compare equal.

Shared links carry tracking parameters, upper-case hosts, fragments and default
ports; courlan knows most of them, and we drop the trackers its list misses.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# Tracking parameters courlan's own list misses or keeps.
_TRACKER_WORDS = (
    "fbclid gclid dclid msclkid yclid igshid mc_cid mc_eid _ga _gl ref ref_src ref_url "
    "cmpid cmp s_cid ocid ncid icid mbid ito sr_share smid soc_src "
    "soc_trk wt.mc_id __twitter_impression"
)
_EXTRA_TRACKERS = frozenset(_TRACKER_WORDS.split())


# URLs that are already in canonical form: a lower-case http(s) scheme, a lower-case
# host of ASCII letters, digits, dots and hyphens (no "xn--" label: courlan decodes
# punycode), no user, port, query or fragment, and a path of non-empty segments of
# characters that percent-quoting leaves alone and that are not dot segments. For
# these courlan and urlsplit change nothing, so the canonical form is the URL itself
# (with "/" for an empty path); checked against the full path in the tests.
_CANONICAL_URL_RE = re.compile(
    r"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*(?:/(?!\.)[A-Za-z0-9_.~-]+)*/?", re.ASCII
)


def canonical_url(url: str | None) -> str | None:
    """One spelling per article URL so re-fetched or re-shared links compare equal."""
    if url is None:
        return None
    url = url.strip()
    if _CANONICAL_URL_RE.fullmatch(url) and "xn--" not in url:
        return url if url.count("/") > 2 else url + "/"
    return canonical_url_general(url)


def canonical_url_general(url: str) -> str | None:
    """``canonical_url`` of a stripped URL by the full route: urlsplit, courlan, our trackers."""
    if not url or any(c.isspace() for c in url):
        return None
    if url.startswith("//"):
        url = "https:" + url
    try:
        from courlan import normalize_url

        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        _ = parts.port  # raises ValueError on a non-numeric or out-of-range port
        normalized = urlsplit(normalize_url(url, strict=False))
    except (ValueError, TypeError, UnicodeError):
        return None
    query = "&".join(
        sorted(
            q
            for q in normalized.query.split("&")
            if q
            and q.split("=", 1)[0].lower() not in _EXTRA_TRACKERS
            and not q.lower().startswith("utm_")
        )
    )
    path = normalized.path or "/"
    return urlunsplit((normalized.scheme, normalized.netloc, path, query, ""))
