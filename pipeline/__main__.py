"""``python -m pipeline`` is ``cacao-screen``."""

import sys

from .cli import main

sys.exit(main())
