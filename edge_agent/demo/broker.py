"""Finding or starting the local Mosquitto the demo syncs to."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def start_local_broker(port: int, state_dir: Path) -> subprocess.Popen[bytes] | None:
    """Start Mosquitto on 127.0.0.1:port if it is installed; None if it is not."""
    binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if binary is None:
        return None
    conf = state_dir / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if port_open("127.0.0.1", port):
            return proc
        if proc.poll() is not None:
            return None
        time.sleep(0.05)
    proc.terminate()
    return None
