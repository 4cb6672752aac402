"""edge-agent: the gateway agent of the communes' smart-territory programme."""

__version__ = "0.1.0"
