"""Makes the modules named in ``$HIDDEN_MODULES`` (comma-separated) unimportable, as if they
were not installed; ``devtools.hidden_modules`` puts this folder on a child's ``PYTHONPATH``.

Standard library only: it runs before anything else of the child's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType


class _Refuse:
    """A meta-path finder, first in line, that refuses the hidden modules."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] in self.names:
            # As the import system says it when no finder has the module.
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None  # the other finders decide


_names = frozenset(name for name in os.environ.get("HIDDEN_MODULES", "").split(",") if name)
if _names:
    sys.meta_path.insert(0, _Refuse(_names))
