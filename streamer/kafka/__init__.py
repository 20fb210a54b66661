"""Kafka in and out: the adapter between topics and the pipeline; no dedup logic lives here.

One room per idea, in the order a record meets them:

* ``probe``: asking a broker, within a deadline, whether it answers and takes
  our TLS and SASL settings (before any client is built, and for readiness);
* ``clients``: producer and consumer factories, topic creation, reading a
  partition range to its end (and the one true end offset);
* ``stages``: what a polled batch becomes in each role (``AllStage`` runs the
  pipeline, ``DedupStage`` decides prepared records and drops replays);
* ``commit``: one batch in the order that makes its effect exactly once, and
  the ``BatchState`` it carries from batch to batch;
* ``recovery``: the journal replayed into the index and the bounded tail scan,
  returned as a ``RecoveredState``;
* ``reset``: the evidence that the broker lost what we wrote (a reset broker);
* ``service``: the one consumer loop (poll, stop, idle exit, rebalances, lag);
* ``observer``: the hooks the loop reports through (``streamer.metrics.Metrics``
  implements them);
* ``decide`` and ``prepare``: the services of the roles on that loop.
"""
