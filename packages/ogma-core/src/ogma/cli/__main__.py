"""``python -m ogma.cli``."""

import sys

from ogma.cli import main

sys.exit(main())
