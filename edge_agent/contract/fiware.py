"""Which FIWARE Smart Data Model attribute and unit each point of each device model maps to (pure data).

Inside the agent percentages are 0-100 (``%``); FIWARE's ratios (``fillingLevel``, ``illuminanceLevel``,
``batteryLevel``) are 0-1, and only the NGSI-LD output divides by 100 (``scale``). Units are UN/CEFACT common
codes as NGSI-LD's ``unitCode`` expects. A point without a mapping keeps its own name in the NGSI-LD output.
"""

from __future__ import annotations

from dataclasses import dataclass

PERCENT_TO_RATIO = 0.01


@dataclass(frozen=True)
class PointMap:
    attribute: str
    unit_code: str | None = None  # UN/CEFACT common code
    scale: float = 1.0  # multiply the agent's value by this for FIWARE


@dataclass(frozen=True)
class ModelMap:
    entity_type: str
    points: dict[str, PointMap]


def _pct(attribute: str) -> PointMap:
    return PointMap(attribute, "C62", PERCENT_TO_RATIO)  # C62: dimensionless ratio 0-1


_CABINET_CIRCUITS = {f"circuit{n}_level": PointMap(f"circuit{n}IlluminanceLevel", "C62", PERCENT_TO_RATIO)
                     for n in range(1, 5)}
_WASTE = {
    "fill_level": _pct("fillingLevel"),
    "temperature": PointMap("temperature", "CEL"),
    "distance": PointMap("distance", "MMT"),
    "battery": _pct("batteryLevel"),
}
_CROWD_AB = {"count_a": PointMap("peopleCountTowards"), "count_b": PointMap("peopleCountAway")}

MODELS: dict[str, ModelMap] = {
    # Modbus profiles (drivers/modbus/<profile>.toml)
    "streetlight_cabinet_4c": ModelMap("StreetlightControlCabinet", {
        **_CABINET_CIRCUITS,
        "mode": PointMap("workingMode"),
        "energy": PointMap("energyConsumed", "KWH"),
        "active_power": PointMap("activePower", "WTT"),
        "mains_voltage": PointMap("voltage", "VLT"),
        "mains_current": PointMap("intensity", "AMP"),
        "cabinet_temperature": PointMap("temperature", "CEL"),
    }),
    "eastron_sdm120": ModelMap("StreetlightControlCabinet", {
        "import_active_energy": PointMap("energyConsumed", "KWH"),
        "active_power": PointMap("activePower", "WTT"),
        "voltage": PointMap("voltage", "VLT"),
        "current": PointMap("intensity", "AMP"),
        "frequency": PointMap("frequency", "HTZ"),
        "power_factor": PointMap("powerFactor", "C62"),
    }),
    "traffic_counter": ModelMap("TrafficFlowObserved", {
        "vehicles_interval": PointMap("intensity"),
        "average_speed": PointMap("averageVehicleSpeed", "KMH"),
        "temperature": PointMap("temperature", "CEL"),
    }),
    # LoRaWAN codecs (drivers/lorawan/registry.yaml)
    "dingtek_df702": ModelMap("WasteContainer", _WASTE),
    "dragino_ldds75": ModelMap("WasteContainer", _WASTE),
    "milesight_em310_udl": ModelMap("WasteContainer", _WASTE),
    "imbuildings_people_counter": ModelMap("CrowdFlowObserved", _CROWD_AB),
    "parametric_pcr2": ModelMap("CrowdFlowObserved", {
        "count_left_to_right": PointMap("peopleCountTowards"),
        "count_right_to_left": PointMap("peopleCountAway"),
        "solar_battery": _pct("batteryLevel"),
        "temperature": PointMap("temperature", "CEL"),
    }),
    "milesight_ws558": ModelMap("Streetlight", {
        "active_power": PointMap("powerConsumption", "WTT"),
        "voltage": PointMap("voltage", "VLT"),
        "energy": PointMap("energyConsumed", "KWH", 0.001),  # the codec reports Wh
    }),
    "dragino_lt22222l": ModelMap("Device", {}),
    "simulated": ModelMap("Device", {}),
}
DEFAULT = ModelMap("Device", {})


def model_key(device: object) -> str:
    """The key of a device config in MODELS: its Modbus profile, LoRaWAN codec, or driver."""
    for attribute in ("profile", "codec"):
        value = getattr(device, attribute, None)
        if isinstance(value, str):
            return value
    return str(getattr(device, "driver", "unknown"))


def mapping(key: str) -> ModelMap:
    return MODELS.get(key, DEFAULT)


def point_map(key: str, point: str) -> PointMap:
    return mapping(key).points.get(point) or PointMap(point)
