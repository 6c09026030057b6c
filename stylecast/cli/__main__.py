"""``python -m stylecast.cli``: the same as ``stylecast``."""

import sys

from stylecast.cli import main

sys.exit(main())
