"""structlog without rich: the agent's logs need neither rich nor pygments.

structlog imports rich (and, through it, pygments: about 10 MB and a tenth of a second on a Pi) whenever rich is
installed, which it is as a dependency of typer, only to draw colourful tracebacks. The agent's logs are one plain
line per event (JSON for the journal). So when structlog is first imported, rich is masked while structlog's
modules run; structlog then uses its plain traceback formatter. Anything else that imports rich later gets it.
Nothing is imported here: a command that logs nothing does not load structlog at all.
"""

from __future__ import annotations

import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import importlib.abc

# The finder and the loader follow importlib's protocols without deriving from importlib.abc, whose import (with
# importlib.resources, tempfile, shutil, bz2, lzma, random) cost every process a few megabytes.


class _MaskRich:
    """Runs structlog's own loader with ``sys.modules["rich"] = None`` (an import of rich raises ImportError)."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self._loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        masked = "rich" not in sys.modules
        if masked:
            sys.modules["rich"] = None  # type: ignore[assignment]
        try:
            self._loader.exec_module(module)
        finally:
            if masked:
                del sys.modules["rich"]


class _StructlogFinder:
    """Finds ``structlog`` as the next finders do, and wraps its loader; leaves the meta path at once."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "structlog":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = cast("importlib.abc.Loader", _MaskRich(spec.loader))
        return spec


def load_structlog_without_rich() -> None:
    """Arrange for structlog's first import to happen with rich masked (nothing to do once it is imported)."""
    if "structlog" not in sys.modules and not any(isinstance(f, _StructlogFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _StructlogFinder())
