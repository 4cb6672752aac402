"""``edge-agent decode``: decode one LoRaWAN payload by hand with a shipped codec."""

from __future__ import annotations

import typer

from edge_agent.cli.output import fail, print_json


def register(app: typer.Typer) -> None:
    app.command("decode")(decode)


def decode(
    *,
    driver: str = typer.Option(..., "--driver", help="codec name, e.g. milesight_em310_udl (see --list)"),
    fport: int = typer.Option(..., "--fport", min=0, max=255, help="the uplink's fPort"),
    hex_payload: str = typer.Option(..., "--hex", help="the payload as hex (ChirpStack shows base64: convert)"),
    d_empty: float | None = typer.Option(None, "--d-empty", help="bin: distance to the empty bottom, mm"),
    d_full: float | None = typer.Option(None, "--d-full", help="bin: distance at which it is full, mm"),
    offset: float = typer.Option(0.0, "--offset", help="bin: sensor offset subtracted from distances, mm"),
) -> None:
    """Print a payload decoded by a device codec as JSON; a bad payload is one error line and exit code 1."""
    from edge_agent.lorawan.codec_api import CodecOptions, DecodeError
    from edge_agent.lorawan.codecs import default_registry

    registry = default_registry()
    try:
        codec = registry.get(driver)
    except KeyError as exc:
        fail(str(exc.args[0]))
    try:
        data = bytes.fromhex(hex_payload.replace(" ", ""))
    except ValueError:
        fail(f"'{hex_payload}' is not hex")
    try:
        decoded = codec.decode(fport, data, CodecOptions(d_empty, d_full, offset))
    except DecodeError as exc:
        fail(f"cannot decode with {driver}: {exc}")
    print_json({"driver": driver, "model": codec.model, "f_port": fport, "hex": data.hex(), **decoded.as_dict()})
