"""The daemon's bytecode, compiled once at install time the way its unit runs it.

The unit (systemd/edge-agent.service) starts the agent optimised, ``PYTHONOPTIMIZE=2``: no docstrings, no
``assert``: 1.0 MB less of its resident memory at commune load, mostly docstrings (docs/performance.md); and its
code is compiled without column positions (``PYTHONNODEBUGRANGES=1``: a traceback still names each line, without
marking the expression in it): 0.2 MB less. Such bytecode has files of its own (``*.opt-2.pyc``), which the
daemon never writes: it runs with ``PYTHONDONTWRITEBYTECODE=1`` and may not write under /opt. So
scripts/install.sh compiles it once for each installed version, into that version's own folder, which the unit
names (``PYTHONPYCACHEPREFIX``)::

    /opt/edge-agent/<version>/bin/python -m edge_agent.bytecode /opt/edge-agent/<version>/pycache

for the standard library and every package of the version's environment. A module left without it (the Python
package upgraded since, a file added by hand) is compiled from its source at each start: slower, never wrong;
``edge-agent doctor`` counts them (``out_of_date``) and gives the command above to compile them again.
"""

from __future__ import annotations

import compileall
import importlib.util
import os
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

OPTIMIZE = 2  # python -OO, PYTHONOPTIMIZE=2: what the unit sets, with PYTHONNODEBUGRANGES=1
# What no service imports: the standard library's own tests and tools, the GUI, and what a virtual environment
# keeps beside it (its packages are compiled on their own, below).
_STDLIB_SKIPPED = re.compile(
    r"[/\\](test|tests|idlelib|tkinter|turtledemo|lib2to3|ensurepip|pydoc_data|site-packages|dist-packages"
    r"|config-[^/\\]*)[/\\]")
_PACKAGES_SKIPPED = re.compile(r"[/\\](tests?|pip|setuptools|pkg_resources)[/\\]")


def roots() -> list[tuple[Path, re.Pattern[str]]]:
    """The folders to compile, each with what it skips: the standard library, this environment's packages, and
    this package wherever it is imported from (a checkout installed in development mode)."""
    paths = sysconfig.get_paths()
    found = [(Path(paths["stdlib"]), _STDLIB_SKIPPED)]
    for key in ("purelib", "platlib"):
        folder = Path(paths[key])
        if folder.is_dir() and all(folder != known for known, _ in found):
            found.append((folder, _PACKAGES_SKIPPED))
    package = Path(__file__).resolve().parent
    if not any(package.is_relative_to(known) for known, skipped in found if skipped is _PACKAGES_SKIPPED):
        found.append((package, _PACKAGES_SKIPPED))
    return found


def compile_into(prefix: Path, *, workers: int = 0, where: list[tuple[Path, re.Pattern[str]]] | None = None) -> bool:
    """Compile every root's modules (``roots()`` unless ``where`` is given) at ``OPTIMIZE`` into ``prefix``; whether
    all of them compiled (compileall names the ones that did not). Sets this process's ``sys.pycache_prefix``: a
    process of its own. Workers are forked, so they inherit the prefix."""
    sys.pycache_prefix = str(prefix)
    where = roots() if where is None else where
    ok = True
    for root, skipped in where:
        ok = bool(compileall.compile_dir(root, quiet=1, rx=skipped, optimize=OPTIMIZE, workers=workers)) and ok
    # compileall takes bytecode recording the source's time for up to date; the import system also wants its size:
    # a source rewritten within the second of its last compile is compiled again here, or it stays stale.
    for source in out_of_date(prefix, where)[1]:
        ok = bool(compileall.compile_file(source, quiet=1, force=True, optimize=OPTIMIZE)) and ok
    return ok


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m edge_agent.bytecode PREFIX\n"
              "compiles the standard library and this environment's packages without docstrings, asserts "
              "(python -OO) nor column positions into PREFIX, the folder PYTHONPYCACHEPREFIX names", file=sys.stderr)
        return 2
    if has_columns() and "no_debug_ranges" not in sys._xoptions:  # compile() keeps them: start a Python without
        return subprocess.call([sys.executable, "-X", "no_debug_ranges", "-m", "edge_agent.bytecode", *args])
    prefix = Path(args[0]).absolute()
    prefix.mkdir(parents=True, exist_ok=True)
    return 0 if compile_into(prefix) else 1


def compiled_path(source: Path, prefix: Path) -> Path:
    """Where the daemon (optimised, ``PYTHONPYCACHEPREFIX=prefix``) looks for the bytecode of ``source``, an absolute
    path: what ``importlib.util.cache_from_source`` answers in that interpreter."""
    return (prefix / source.parent.relative_to(source.anchor)
            / f"{source.name.rpartition('.')[0]}.{sys.implementation.cache_tag}.opt-{OPTIMIZE}.pyc")


def up_to_date(source: Path, compiled: Path) -> bool:
    """Whether the import system would take ``compiled`` for ``source`` as it is now: the interpreter's magic
    number, then the source's modification time and size (or, for bytecode compiled with a checked hash, its hash)
    as recorded in the header (PEP 552)."""
    try:
        with compiled.open("rb") as pyc:
            header = pyc.read(16)
        stat = source.stat()
    except OSError:
        return False
    if len(header) < 16 or header[:4] != importlib.util.MAGIC_NUMBER:
        return False
    flags = int.from_bytes(header[4:8], "little")
    if flags & 0b01:  # hash-based: checked against the source only when so flagged
        return not flags & 0b10 or header[8:16] == importlib.util.source_hash(source.read_bytes())
    return (int.from_bytes(header[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
            and int.from_bytes(header[12:16], "little") == stat.st_size & 0xFFFFFFFF)


def sources(where: list[tuple[Path, re.Pattern[str]]]) -> Iterator[Path]:
    """The modules ``compile_into`` compiles: every ``.py`` under each root that its pattern does not skip, without
    entering ``__pycache__`` folders or links to folders (as ``compileall`` does)."""
    for root, skipped in where:
        for folder, folders, files in os.walk(root):
            folders[:] = [name for name in folders if name != "__pycache__"]
            for name in files:
                if name.endswith(".py") and not skipped.search(path := os.path.join(folder, name)):
                    yield Path(path)


def out_of_date(prefix: Path, where: list[tuple[Path, re.Pattern[str]]] | None = None) -> tuple[int, list[Path]]:
    """Of the modules ``compile_into(prefix)`` compiles (under ``roots()`` unless ``where`` is given): how many,
    and those whose bytecode in ``prefix`` is missing or no longer matches the source (a Python or package upgraded
    since): the daemon compiles these from source at each start."""
    found = list(sources(roots() if where is None else where))
    return len(found), [source for source in found if not up_to_date(source, compiled_path(source, prefix))]


def from_source() -> tuple[int, list[str]]:
    """Of the modules this process loaded from a ``.py`` file: how many, and which have no up-to-date bytecode where
    this process looks for it (in its prefix, when it runs with one), so were compiled from source when imported."""
    files = {name: path for name, module in list(sys.modules.items())
             if (path := getattr(module, "__file__", None) or "").endswith(".py")}
    return len(files), sorted(name for name, path in files.items()
                              if not up_to_date(Path(path), Path(importlib.util.cache_from_source(path))))


def has_columns() -> bool:
    """Whether this interpreter compiles code with column positions (it does unless started with ``-X
    no_debug_ranges`` or ``PYTHONNODEBUGRANGES`` set, as the unit starts the agent)."""
    return any(column is not None for _, _, column, _ in compile("x", "<probe>", "eval").co_positions())


if __name__ == "__main__":
    sys.exit(main())
