"""What every scenario returns: its workload, its limit, its figures; and the one table they are printed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Result:
    name: str
    workload: str
    limit: str
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "workload": self.workload, "limit": self.limit, "figures": self.figures,
                "notes": self.notes, "skipped": self.skipped}


def table(results: list[Result]) -> str:
    """One table: scenario, figure, value; the workload and limit of each scenario above its rows."""
    lines: list[str] = []
    width = max([len(k) for r in results for k in r.figures] + [20])
    for result in results:
        lines.append(f"\n[{result.name}] {result.workload}")
        lines.append(f"  limit: {result.limit}")
        if result.skipped:
            lines.append(f"  SKIPPED: {result.skipped}")
        for key, value in result.figures.items():
            shown = (f"{value:,.2f}" if abs(value) < 1 else f"{value:,.1f}") if isinstance(value, float) else str(value)
            lines.append(f"  {key:<{width}}  {shown:>12}")
        lines += [f"  note: {note}" for note in result.notes]
    return "\n".join(lines)
