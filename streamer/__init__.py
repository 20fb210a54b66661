"""streamer: near-duplicate detection for news articles flowing through Kafka."""

__version__ = "0.1.0"
SCHEMA_VERSION = 1
