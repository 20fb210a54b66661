"""The dedup decision: index entries, the fact guards, the windowed store, the index, the journal.

``entry`` (what is kept per article and derived from it) -> ``guards`` (facts that
must not be substituted) -> ``bands`` and ``columns`` (storage pieces) -> ``store``
(the window, no Python object per article) -> ``index`` (decide, add, evict) ->
``journal`` (the index's changelog codec and rebuild). Nothing here does I/O.
"""
