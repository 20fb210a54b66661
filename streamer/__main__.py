import sys

from streamer.cli import main

# Guarded: worker processes (forkserver) import the parent's main module.
if __name__ == "__main__":
    sys.exit(main())
