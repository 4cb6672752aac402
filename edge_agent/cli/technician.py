"""The technician's commands (issue 7), registered on the main app in one call."""

from __future__ import annotations

import typer

from edge_agent.cli import device_cmd, doctor_cmd, export_cmd, inventory_cmd, queue_cmd, status_cmd, tail_cmd


def register_commands(app: typer.Typer) -> None:
    for module in (status_cmd, inventory_cmd, tail_cmd, device_cmd, queue_cmd, export_cmd, doctor_cmd):
        module.register(app)
