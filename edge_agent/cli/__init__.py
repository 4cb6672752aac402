"""The ``edge-agent`` command: one typer app, one module per command group."""
