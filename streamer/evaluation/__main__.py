"""``python -m streamer.evaluation``, the same as ``streamer eval``."""

from streamer.evaluation.cli import main

raise SystemExit(main())
