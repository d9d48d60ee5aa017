"""``python -m relvec``."""

import sys

from relvec.cli import main

sys.exit(main())
