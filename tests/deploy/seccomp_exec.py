"""Run a command under a system call allow-list, as systemd's SystemCallFilter= does (a test tool).

``python seccomp_exec.py SYSCALLS_FILE COMMAND...``: loads a seccomp filter (libseccomp, through ctypes) that
lets only the system calls named in SYSCALLS_FILE through and fails every other one with EPERM (the unit's
SystemCallErrorNumber=), then executes COMMAND, which keeps the filter. Names unknown on this architecture are
skipped, as systemd skips them.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from pathlib import Path

SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_ACT_ERRNO = 0x00050000


def load_filter(names: list[str]) -> None:
    lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    context = lib.seccomp_init(SCMP_ACT_ERRNO | errno.EPERM)
    if not context:
        raise OSError("seccomp_init failed")
    for name in names:
        number = lib.seccomp_syscall_resolve_name(name.encode())
        if number < 0:
            continue
        if lib.seccomp_rule_add(context, SCMP_ACT_ALLOW, number, 0) != 0:
            raise OSError(f"seccomp_rule_add failed for {name}")
    if lib.seccomp_load(context) != 0:
        raise OSError("seccomp_load failed")


def main() -> None:
    names = Path(sys.argv[1]).read_text().split()
    command = sys.argv[2:]
    load_filter(names)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
