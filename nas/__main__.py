"""`python -m nas ...` is the `nas` command, for machines where the console script is not on PATH."""

import sys

from nas.cli import main

sys.exit(main())
