"""``python -m tuning``: see ``tuning.cli``."""

import sys

from tuning.cli import main

sys.exit(main())
