"""``edge-agent decode``: decode one LoRaWAN payload, or a captured ChirpStack event, as the agent would.

The output is strict JSON (no NaN, no infinity): a value the codec distrusts is a point of bad quality without a
value. A bad payload is one error line and exit code 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge_agent.cli.output import echo, fail

if TYPE_CHECKING:
    from edge_agent.catalog import Catalog
    from edge_agent.config.site import SiteConfig
    from edge_agent.lorawan.config import LorawanDeviceConfig


def print_strict_json(data: Any) -> None:
    """JSON that any parser accepts: NaN or an infinity anywhere is a bug, reported rather than printed."""
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=str)
    except ValueError as exc:
        fail(f"internal error: the result holds a number JSON cannot carry ({exc})")
    sys.stdout.write(text + "\n")


def decode_uplink(*, driver: str | None = None, fport: int | None = None, hex_payload: str | None = None,
                  config: Path | None = None, device: str | None = None, event: Path | None = None,
                  list_codecs: bool = False, d_empty: float | None = None, d_full: float | None = None,
                  offset: float | None = None) -> None:
    """Print a payload decoded by a device codec as JSON; --event decodes a captured ChirpStack event.

    \b
    edge-agent decode --list
    edge-agent decode --driver dragino_ldds75 --fport 2 --hex 0d0a07e900000001
    edge-agent decode --config site.toml --device bac-12 --fport 85 --hex 01755c03824408040001
    edge-agent decode --config site.toml --device bac-12 --event captured.json
    """
    site = _load(config) if config is not None else None
    catalog = _catalog(site)
    if list_codecs:
        _list(catalog)
        return
    target = _device(site, device) if device is not None else None
    if event is not None:
        if site is None or target is None:
            fail("--event needs --config SITE and --device NAME (the device the event is from)")
        _decode_event(site, target, event)
        return
    if fport is None or hex_payload is None:
        fail("give --fport and --hex (with --driver or --config/--device), --event, or --list")
    _decode_payload(catalog, driver or (target.codec if target is not None else None), target,
                    (fport, hex_payload), (d_empty, d_full, offset))


def _load(path: Path) -> SiteConfig:
    from edge_agent.config.load import load_config
    from edge_agent.errors import ConfigError

    try:
        return load_config(path).config
    except ConfigError as exc:
        fail("\n".join(exc.problems))


def _catalog(site: SiteConfig | None) -> Catalog:
    from edge_agent.catalog import catalog_for

    return catalog_for(tuple(site.drivers.paths)) if site is not None else catalog_for()


def _device(site: SiteConfig | None, name: str) -> LorawanDeviceConfig:
    from edge_agent.lorawan.config import LorawanDeviceConfig

    if site is None:
        fail("--device needs --config SITE (the site config that names the device)")
    lorawan = [d.name for d in site.devices if isinstance(d, LorawanDeviceConfig)]
    try:
        found = site.device(name)
    except KeyError:
        fail(f"no device named '{name}' in the site config; its LoRaWAN devices: {', '.join(lorawan) or 'none'}")
    if not isinstance(found, LorawanDeviceConfig):
        fail(f"device '{name}' is not a LoRaWAN device; its LoRaWAN devices: {', '.join(lorawan) or 'none'}")
    return found


def _list(catalog: Catalog) -> None:
    from edge_agent.cli.render import table
    from edge_agent.errors import ConfigError

    rows = []
    for name in catalog.names("lorawan"):
        item = catalog.find("lorawan", name)
        assert item is not None
        try:
            codec = catalog.codec(name)
        except ConfigError as exc:
            rows.append([name, "-", "-", "-", f"{item.origin}: UNUSABLE ({exc.problems[0]})"])
            continue
        ports = ",".join(str(p) for p in sorted(codec.uplink_fports))
        rows.append([name, codec.model, codec.domain or "-", ports, item.origin])
    for line in table(["CODEC", "MODEL", "DOMAIN", "FPORTS", "SOURCE"], rows, width=200):
        echo(line)
    echo("chirpstack  (points from ChirpStack's decoded object: [[devices.object_fields]] in the site config)")


def _decode_payload(catalog: Catalog, name: str | None, target: LorawanDeviceConfig | None,
                    uplink: tuple[int, str], geometry: tuple[float | None, float | None, float | None]) -> None:
    from edge_agent.errors import ConfigError
    from edge_agent.lorawan.codec_api import CodecOptions, DecodeError
    from edge_agent.lorawan.config import CHIRPSTACK_CODEC
    from edge_agent.lorawan.intake import codec_options

    fport, hex_payload = uplink
    if name is None:
        fail("give --driver CODEC, or --config SITE --device NAME")
    if name == CHIRPSTACK_CODEC:
        fail("this device is decoded by ChirpStack (codec = \"chirpstack\"): decode a captured event with --event")
    try:
        codec = catalog.codec(name)
    except ConfigError as exc:
        fail("; ".join(exc.problems))
    try:
        data = bytes.fromhex(hex_payload.replace(" ", ""))
    except ValueError:
        fail(f"'{hex_payload}' is not hex")
    base = codec_options(target) if target is not None else CodecOptions()
    d_empty, d_full, offset = geometry
    options = CodecOptions(d_empty if d_empty is not None else base.d_empty_mm,
                           d_full if d_full is not None else base.d_full_mm,
                           offset if offset is not None else base.sensor_offset_mm)
    try:
        decoded = codec.decode(fport, data, options)
    except DecodeError as exc:
        fail(f"cannot decode with {name}: {exc}")
    print_strict_json({"driver": name, "model": codec.model, "domain": codec.domain, "f_port": fport,
                       "hex": data.hex(), **decoded.as_dict()})


def _decode_event(site: SiteConfig, target: LorawanDeviceConfig, path: Path) -> None:
    import contextlib

    from edge_agent.lorawan.capture import decode_capture

    try:
        raw = path.read_bytes()
    except OSError as exc:
        fail(f"{path}: cannot be read ({exc.strerror}); check the path")
    with contextlib.redirect_stdout(sys.stderr):  # the agent's own log lines: stdout is the JSON result alone
        results = decode_capture(site, target, raw)
    if not results:
        fail(f"{path}: no event in the file; capture one with: mosquitto_sub -h HOST -t"
             f" 'application/+/device/{target.dev_eui}/event/up' -C 1 > {path}")
    print_strict_json({"device": target.name, "codec": target.codec, "messages": results})
    failed = [e for r in results for e in r["events"] if e["kind"] in ("uplink_undecodable", "uplink_malformed")]
    if failed:
        raise SystemExit(1)


def register(app: Any) -> None:
    import typer

    def decode(
        *,
        driver: str | None = typer.Option(None, "--driver", help="codec name, e.g. milesight_em310_udl (see --list)"),
        fport: int | None = typer.Option(None, "--fport", min=0, max=255, help="the uplink's fPort"),
        hex_payload: str | None = typer.Option(None, "--hex",
                                               help="the payload as hex (ChirpStack shows base64: convert)"),
        config: Path | None = typer.Option(None, "--config",
                                           help="site config: its codecs, devices and driver folders"),
        device: str | None = typer.Option(None, "--device", help="a device of --config: its codec and bin geometry"),
        event: Path | None = typer.Option(None, "--event", help="a captured ChirpStack event (mosquitto_sub output)"),
        list_codecs: bool = typer.Option(False, "--list", help="list the codecs (with --config: the site's too)"),
        d_empty: float | None = typer.Option(None, "--d-empty", help="bin: distance to the empty bottom, mm"),
        d_full: float | None = typer.Option(None, "--d-full", help="bin: distance at which it is full, mm"),
        offset: float | None = typer.Option(None, "--offset", help="bin: sensor offset subtracted from distances, mm"),
    ) -> None:
        decode_uplink(driver=driver, fport=fport, hex_payload=hex_payload, config=config, device=device, event=event,
                      list_codecs=list_codecs, d_empty=d_empty, d_full=d_full, offset=offset)

    decode.__doc__ = decode_uplink.__doc__  # typer's help: the one text
    app.command("decode")(decode)
