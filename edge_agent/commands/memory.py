"""A bounded memory of the answers given to recent request ids (pure)."""

from __future__ import annotations

from collections import OrderedDict


class RecentAnswers:
    """Request id -> response bytes, at most ``size`` ids, the oldest forgotten first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._answers: OrderedDict[str, bytes] = OrderedDict()
        self._running: set[str] = set()

    def get(self, request_id: str) -> bytes | None:
        return self._answers.get(request_id)

    def running(self, request_id: str) -> bool:
        """The id was taken and its answer is not given yet (a config push under trial)."""
        return request_id in self._running

    def start(self, request_id: str) -> None:
        self._running.add(request_id)

    def forget(self, request_id: str) -> None:
        """The request left nothing behind (it can run again when repeated)."""
        self._running.discard(request_id)

    def remember(self, request_id: str, response: bytes) -> None:
        self._running.discard(request_id)
        self._answers[request_id] = response
        self._answers.move_to_end(request_id)
        while len(self._answers) > self._size:
            self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)
