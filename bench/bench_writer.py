"""The ``dedup`` role's own work per record, without Kafka: the ceiling of the one writer.

Every output of a split deployment comes from one ordered writer per index, so
its per-record cost bounds the whole system however many ``prepare`` replicas
run. Measured here: ``DedupStage.process`` over ``news.prepared`` envelopes of
Reuters stories (parse, decide, build the output record), a fresh stage per round.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bench.bench_common import median_rate
from bench.bench_decide import prepared_articles
from streamer.config import Settings
from streamer.kafka.stages import DedupStage
from streamer.models import SourceInfo
from streamer.records import encode_prepared


def envelopes(limit: int, settings: Settings) -> list[SimpleNamespace]:
    """Records shaped like the consumer's, holding what ``prepare`` publishes."""
    out = []
    for i, p in enumerate(prepared_articles(limit, settings)):
        source = SourceInfo(topic="news.raw", partition=0, offset=i)
        out.append(
            SimpleNamespace(
                value=encode_prepared(source, p),
                key=p.article.id.encode(),
                topic="news.prepared",
                partition=0,
                offset=i,
                timestamp=None,
            )
        )
    return out


def run(limit: int = 5000, rounds: int = 5) -> dict[str, Any]:
    settings = Settings.model_validate({})
    records = envelopes(limit, settings)

    batch = settings.kafka.max_poll_records

    def one_round() -> None:
        stage = DedupStage(settings)
        done = 0
        for start in range(0, len(records), batch):
            done += len(stage.process(records[start : start + batch], {}))
        if done != len(records):
            raise RuntimeError(f"{done} results for {len(records)} records")

    rate, rates = median_rate(len(records), one_round, rounds)
    return {
        "records": len(records),
        "bytes_per_record": sum(len(r.value) for r in records) / len(records),
        "writer_per_s": rate,
        "rounds": rates,
    }


if __name__ == "__main__":
    print(run())
