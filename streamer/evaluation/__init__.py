"""Dedup quality, measured on labeled streams next to a naive baseline (``make eval``).

Measures precision, recall, F1, the hard-negative false-positive rate and recall
per rewrite kind, on a labeled stream built from the Reuters-21578 corpus (read
from the data directory, never copied into the repository). The rooms, in the
order the data flows:

* ``corpus``: loading a JSON Lines corpus; :class:`CorpusMissingError` when it is absent.
* ``similarity``, ``wire``: the evaluation's own yardstick (word shingles, exact
  all-pairs Jaccard) and what a Reuters story is made of (paragraphs, figures,
  names, tickers, its input record).
* ``restyle``, ``pages``, ``rewrites``: the seven kinds of rewrite a republisher makes.
* ``lookalikes``: real hard negatives, templated stories that are different news.
* ``stream``: the labeled Reuters stream and its ground truth.
* ``scoring``: :class:`Labels`, the scores and the table.
* ``systems``, ``baseline``: what is measured, the pipeline through
  ``files_io.dedup_records`` and the naive MinHash pipeline.
* ``cli``: ``streamer eval``.

* ``meter``: the second data set, METER (real editorial reuse): it loads its file
  with ``corpus.load_jsonl``, builds its own pairs and scores, runs the systems'
  clusters (``systems.streamer_clusters``, ``systems.naive_clusters``: a
  ``meter.Clusters``, with what each record's ``match.also`` names), scores them
  strictly and at story level, and is one
  more report of ``cli.main``, skipped with a reason when its file is absent.
"""
