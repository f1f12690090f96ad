"""Entry point: ``helsedata ...`` and ``python -m helsedata ...``."""

import os
import sys

from helsedata.cli import main


def entrypoint() -> None:
    sys.exit(main(sys.argv[1:], environ=os.environ))


if __name__ == "__main__":
    entrypoint()
