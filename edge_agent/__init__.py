"""edge-agent: the gateway agent of the communes' smart-territory programme."""

from edge_agent._lean_imports import load_structlog_without_rich

__version__ = "0.1.0"

load_structlog_without_rich()
