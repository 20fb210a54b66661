"""Article text: from raw fields to display text, fingerprint tokens, facts and MinHash.

Everything here is a pure function of one article (no Kafka, no index), so it runs in
the stateless ``prepare`` stage. The entry points the pipeline calls:

    content.normalize_content   display title and text, their fingerprint form, language
    dates.parse_published_at    a usable UTC publication time, or why there is none
    urls.canonical_url          one spelling per article URL
    fingerprint.Fingerprinter   shingles and MinHash signature of the fingerprint tokens
    facts.extract_facts         the numbers and names two versions must share

``content`` runs the normalization passes, one module each (``page``, ``chars``,
``markup``, ``boilerplate``, ``paragraphs``, ``titles``, ``tokens`` with
``special_phrases``, ``language``). ``fact_keys`` is what the dedup guards read: the
meaning of a fact key and when two facts are one written two ways.
"""
