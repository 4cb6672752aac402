"""The base of every config model: unknown keys are errors, values are checked strictly.

The model modules take pydantic's names from here: pydantic's own, or in a process that reads compiled configs
(``edge_agent.config.mode``) the stand-ins of ``edge_agent.config.lite``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

from edge_agent.config import mode

if TYPE_CHECKING or not mode.compiled():
    from pydantic import (
        BaseModel,
        BeforeValidator,
        ConfigDict,
        Field,
        ValidationError,
        ValidationInfo,
        field_validator,
        model_validator,
    )
else:
    from edge_agent.config.lite import (
        BaseModel,
        BeforeValidator,
        ConfigDict,
        Field,
        ValidationError,
        ValidationInfo,
        field_validator,
        model_validator,
    )

__all__ = ["BaseModel", "BeforeValidator", "ByteSize", "Field", "Model", "Position", "ValidationError",
           "ValidationInfo", "field_validator", "model_validator", "parse_size"]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)(i?)[bB]?\s*$")


class Model(BaseModel):
    """Config model: forbids unknown keys so that a typo is reported, never ignored.

    The core schema is built when a model first validates (``defer_build``): a process that reads a compiled
    config never builds one."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, defer_build=True)


def parse_size(value: Any) -> Any:
    """Accept a size as a number of bytes or a string like ``200 MB`` / ``1 GiB``."""
    if isinstance(value, str):
        match = _SIZE.match(value)
        if not match:
            raise ValueError(f"'{value}' is not a size; write bytes as a number or a string such as '200 MB'")
        number, prefix, binary = match.groups()
        base = 1024 if binary else 1000
        factor = base ** ("kmg".index(prefix.lower()) + 1) if prefix else 1
        try:
            return int(float(number) * factor)
        except OverflowError:  # hundreds of digits: no disk is that large
            raise ValueError(f"'{value[:40]}...' is not a size this gateway can have") from None
    return value


ByteSize = Annotated[int, BeforeValidator(parse_size)]


class Position(Model):
    """Where a device stands (WGS 84 degrees), for the lists and maps of the reports (bins to collect)."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
