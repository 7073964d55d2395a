#!/usr/bin/env python
"""Run an architecture search: `python run_search.py --config search_spaces/quick.yaml` (same as `nas search`)."""

import sys

from nas.cli import main

if __name__ == "__main__":
    sys.exit(main(["search", *sys.argv[1:]]))
