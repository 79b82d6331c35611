"""``python -m rxyomo``: the same as the ``rxyomo`` command."""

from __future__ import annotations

import sys

from rxyomo.cli import main

sys.exit(main())
