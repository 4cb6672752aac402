"""The one module that speaks ChirpStack's gRPC API: enqueueing a downlink with an API token.

grpc and chirpstack_api's API classes (about 35 MB) are imported on the first downlink sent through gRPC, never
by a site that does not configure ``grpc_address``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edge_agent.errors import DeviceError

_TIMEOUT = 10.0


def read_token(path: Path) -> str:
    token = path.read_text(encoding="utf-8").strip()
    if not token:
        raise DeviceError(f"the ChirpStack API token file {path} is empty")
    return token


def token_problem(path: Path, exc: OSError | DeviceError) -> str:
    """Why ``read_token`` could not give the token, in the config's terms (for the agent and for doctor)."""
    reason = exc.strerror if isinstance(exc, OSError) else str(exc)
    return f"{path}: (chirpstack.api_token_file): cannot be used ({reason})"


class GrpcEnqueuer:
    """``DeviceService.Enqueue`` over an insecure channel (ChirpStack runs on the same host or LAN)."""

    def __init__(self, address: str, token: str) -> None:
        self._address = address
        self._metadata = (("authorization", f"Bearer {token}"),)
        self._channel: Any = None

    async def enqueue(self, *, ticket_id: str, dev_eui: str, f_port: int, data: bytes, confirmed: bool,
                      expires_at: float) -> str:
        """Enqueue one item; returns ChirpStack's queue item id."""
        import grpc  # type: ignore[import-untyped]
        from chirpstack_api import api

        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self._address)
        item = api.DeviceQueueItem(id=ticket_id, dev_eui=dev_eui, confirmed=confirmed, f_port=f_port, data=data)
        item.expires_at.FromNanoseconds(int(expires_at * 1e9))
        stub = api.DeviceServiceStub(self._channel)
        try:
            response = await stub.Enqueue(api.EnqueueDeviceQueueItemRequest(queue_item=item),
                                          metadata=self._metadata, timeout=_TIMEOUT)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            details = exc.details() if hasattr(exc, "details") else str(exc)
            raise DeviceError(f"ChirpStack refused the downlink ({code}): {details}") from exc
        return str(response.id) or ticket_id

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
