"""Site configs for tests, written as real TOML files."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.ports import free_port


def simulated_devices(count: int = 2, poll: float = 0.05, points: int = 3) -> str:
    blocks = []
    for index in range(count):
        point_lines = ",\n".join(
            f'  {{ name = "p{p}", unit = "V", base = {100 + p}, amplitude = 5, period = 60 }}' for p in range(points)
        )
        blocks.append(
            f'[[devices]]\ndriver = "simulated"\nname = "sim-{index}"\npoll_interval = {poll}\n'
            f"points = [\n{point_lines}\n]\n"
        )
    return "\n".join(blocks)


def write_site(
    directory: Path,
    *,
    broker_port: int,
    devices: str | None = None,
    gateway: str = "gw-test",
    sync: str = "",
    store: str = "",
    extra: str = "",
) -> Path:
    """A site config in ``directory`` with its store there too."""
    text = f"""
gateway_id = "{gateway}"

[site]
commune = "Esternay"
latitude = 48.7328
longitude = 3.5603

[upstream]
host = "127.0.0.1"
port = {broker_port}
topic_prefix = "fute"

[upstream.sync]
reconnect_min = 0.1
reconnect_max = 1.0
{sync}

[store]
path = "{directory / 'store.db'}"
commit_interval = 0.1
{store}

[clock]
source = "assume_synced"

[control]
socket = "{directory / 'control.sock'}"

{extra}

{devices if devices is not None else simulated_devices()}
"""
    path = directory / "site.toml"
    path.write_text(text)
    return path


def demo_site_text(text: str, host: str, port: int) -> str:
    """The bundled demo site pointed at a test broker, its simulated Modbus server on a free port."""
    text = re.sub(r'(?m)^host = ".*"$', f'host = "{host}"', text)
    text = re.sub(r"(?m)^port = 1883$", f"port = {port}", text)
    return re.sub(r"(?m)^port = 15502$", f"port = {free_port()}", text)
