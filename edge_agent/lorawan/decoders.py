"""How each LoRaWAN device's uplinks become points: its payload codec, ChirpStack's decoded object, or nothing.

A device whose codec file cannot be used (a site codec with an error, or failing its own vectors) gets an
``UnusableDecoder``: its uplinks are kept as raw payloads with a clear reason, the other devices are unaffected.
"""

from __future__ import annotations

from edge_agent.catalog import Catalog
from edge_agent.errors import ConfigError
from edge_agent.frozen import frozen
from edge_agent.lorawan.codec_api import CodecOptions, Decoded, DecodeError
from edge_agent.lorawan.codecs import PayloadCodec
from edge_agent.lorawan.config import CHIRPSTACK_CODEC, LorawanDeviceConfig, ObjectField
from edge_agent.lorawan.events import UplinkFrame
from edge_agent.lorawan.object_codec import decode_object


@frozen
class PayloadDecoder:
    """The device's own codec decodes the payload bytes."""

    codec: PayloadCodec

    def decode(self, uplink: UplinkFrame, options: CodecOptions) -> tuple[Decoded, int]:
        return self.codec.decode(uplink.f_port, uplink.data, options), 0


@frozen
class ObjectDecoder:
    """ChirpStack decoded the payload; the site config's mapping picks the fields of its ``object``."""

    fields: tuple[ObjectField, ...]

    def decode(self, uplink: UplinkFrame, options: CodecOptions) -> tuple[Decoded, int]:
        result = decode_object(uplink.object, self.fields)
        return result.decoded, result.missing


@frozen
class UnusableDecoder:
    """The device's codec could not be loaded: every uplink is undecodable, with the reason."""

    problem: str

    def decode(self, uplink: UplinkFrame, options: CodecOptions) -> tuple[Decoded, int]:
        raise DecodeError(f"the device's codec cannot be used: {self.problem}")


DeviceDecoder = PayloadDecoder | ObjectDecoder | UnusableDecoder


def decoder_for(device: LorawanDeviceConfig, catalog: Catalog) -> DeviceDecoder:
    if device.codec == CHIRPSTACK_CODEC:
        return ObjectDecoder(tuple(device.object_fields))
    try:
        return PayloadDecoder(catalog.codec(device.codec))
    except ConfigError as exc:
        return UnusableDecoder("; ".join(exc.problems))
