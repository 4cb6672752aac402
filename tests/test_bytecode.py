"""edge_agent.bytecode: which modules' optimised bytecode is missing or out of date, judged as the import system does.

Real compiles (``compile_into`` in a process of its own, as the installer runs it), real imports by an interpreter
started the way the unit starts the daemon (``PYTHONOPTIMIZE=2``, ``PYTHONPYCACHEPREFIX``): ``out_of_date`` must name
exactly the modules that interpreter then compiles from source.
"""

from __future__ import annotations

import os
import py_compile
import re
import subprocess
import sys
from pathlib import Path

from edge_agent.bytecode import compiled_path, out_of_date

SKIPPED = re.compile(r"[/\\]tests[/\\]")
MODULES = ("pkg.alpha", "pkg.beta", "pkg.gamma")


def tree(root: Path) -> None:
    (root / "pkg/tests").mkdir(parents=True)
    (root / "pkg/__pycache__").mkdir()
    (root / "pkg/__init__.py").write_text("")
    for name in ("alpha", "beta", "gamma"):
        (root / f"pkg/{name}.py").write_text(f"NAME = {name!r}\n")
    (root / "pkg/tests/test_alpha.py").write_text("import pkg.alpha\n")  # skipped, as the installer skips tests
    (root / "pkg/__pycache__/stray.py").write_text("")  # never a module of its own


def compile_tree(root: Path, prefix: Path) -> None:
    code = ("import re, sys; from pathlib import Path; from edge_agent.bytecode import compile_into; "
            "sys.exit(0 if compile_into(Path(sys.argv[1]), where=[(Path(sys.argv[2]), re.compile(sys.argv[3]))]) "
            "else 1)")
    subprocess.run([sys.executable, "-X", "no_debug_ranges", "-c", code, str(prefix), str(root), SKIPPED.pattern],
                   check=True, capture_output=True, timeout=60)


def compiled_from_source(root: Path, prefix: Path) -> list[str]:
    """The modules of ``pkg`` an interpreter started as the unit starts the daemon compiles from source."""
    code = (f"import sys; sys.path.insert(0, sys.argv[1]); import {', '.join(MODULES)}; "
            "from edge_agent.bytecode import from_source; "
            "print(' '.join(name for name in from_source()[1] if name.startswith('pkg')))")
    env = {**os.environ, "PYTHONOPTIMIZE": "2", "PYTHONNODEBUGRANGES": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPYCACHEPREFIX": str(prefix)}
    out = subprocess.run([sys.executable, "-c", code, str(root)], env=env, check=True, capture_output=True,
                         text=True, timeout=60)
    return out.stdout.split()


def stale_names(root: Path, prefix: Path) -> list[str]:
    checked, stale = out_of_date(prefix, [(root, SKIPPED)])
    assert checked == 4  # pkg/__init__ and its three modules, not its tests nor __pycache__
    return sorted(".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
                  for path in stale)


def test_out_of_date_names_what_the_daemon_compiles_from_source(tmp_path: Path) -> None:
    root, prefix = tmp_path / "lib", tmp_path / "pycache"
    tree(root)
    assert stale_names(root, prefix) == ["pkg", *MODULES]  # nothing compiled yet
    compile_tree(root, prefix)
    assert stale_names(root, prefix) == [] == compiled_from_source(root, prefix)

    beta, gamma = root / "pkg/beta.py", root / "pkg/gamma.py"
    stat = beta.stat()
    beta.write_text("NAME = 'beta, upgraded'\n")  # another size, the same time: compileall alone would keep it
    os.utime(beta, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    stat = gamma.stat()
    os.utime(gamma, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # same size, another time
    compiled_path(root.resolve() / "pkg/alpha.py", prefix).unlink()
    assert stale_names(root, prefix) == list(MODULES) == compiled_from_source(root, prefix)

    compile_tree(root, prefix)  # what the doctor's fix runs
    assert stale_names(root, prefix) == [] == compiled_from_source(root, prefix)


def test_bytecode_checked_by_hash_is_judged_by_the_source_s_content(tmp_path: Path) -> None:
    """Bytecode compiled with SOURCE_DATE_EPOCH set records the source's hash (PEP 552): checked against the source
    only when compiled as checked; its time does not matter."""
    root, prefix = tmp_path / "lib", tmp_path / "pycache"
    tree(root)
    source = root.resolve() / "pkg"
    for name, mode in (("alpha", py_compile.PycInvalidationMode.CHECKED_HASH),
                       ("beta", py_compile.PycInvalidationMode.UNCHECKED_HASH),
                       ("gamma", py_compile.PycInvalidationMode.CHECKED_HASH), ("__init__", None)):
        py_compile.compile(str(source / f"{name}.py"), cfile=str(compiled_path(source / f"{name}.py", prefix)),
                           doraise=True, optimize=2, invalidation_mode=mode)
    stat = (source / "gamma.py").stat()
    os.utime(source / "gamma.py", ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert stale_names(root, prefix) == []
    for name in ("alpha", "beta"):
        (source / f"{name}.py").write_text("NAME = 'changed'\n")
    assert stale_names(root, prefix) == ["pkg.alpha"] == compiled_from_source(root, prefix)


def test_bytecode_of_another_python_is_out_of_date(tmp_path: Path) -> None:
    root, prefix = tmp_path / "lib", tmp_path / "pycache"
    tree(root)
    compile_tree(root, prefix)
    compiled = compiled_path(root.resolve() / "pkg/alpha.py", prefix)
    data = compiled.read_bytes()
    compiled.write_bytes(b"\x00\x00" + data[2:])  # another interpreter's magic number
    assert stale_names(root, prefix) == ["pkg.alpha"] == compiled_from_source(root, prefix)
