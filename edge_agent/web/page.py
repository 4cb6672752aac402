"""What each section of the page says, from the agent's replies: words, verdicts, tones. Pure.

A tone is how a line is coloured: "ok", "warn" or "bad" (or "" for plain).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from edge_agent.cli.schedule_cmd import plan_json
from edge_agent.config.site import SiteConfig
from edge_agent.lorawan.link_margin import Level, Verdict, best, judge
from edge_agent.rules.programs import NightPlan, Place, night_plan
from edge_agent.rules.sun import SunError, night_of
from edge_agent.web.event_text import cause, describe, reason
from edge_agent.web.i18n import Words

Row = dict[str, Any]
TONES = {Level.GOOD: "ok", Level.WEAK: "warn", Level.TOO_WEAK: "bad", Level.UNKNOWN: ""}


def gateway_rows(status: dict[str, Any], config: SiteConfig, w: Words, now: float) -> list[Row]:
    agent, box, disk, upstream = status["agent"], status["outbox"], status["disk"], status["upstream"]
    rows = [_row(w("commune"), config.site.commune), _row(w("gateway_id"), agent["gateway_id"])]
    if agent["running"]:
        rows.append(_row(w("agent"), w("running_since", uptime=w.span(agent["uptime_s"])), "ok"))
        rows.append(_row(w("version"), agent["version"]))
    else:
        rows.append(_row(w("agent"), w("agent_stopped"), "bad"))
    synced = agent.get("clock_synced")
    rows.append(_row(w("clock"), w("unknown") if synced is None else w("synced") if synced else w("not_synced"),
                     "" if synced is None else "ok" if synced else "bad"))
    if "free_bytes" in disk:
        low = disk["free_bytes"] < 0.1 * disk["total_bytes"]
        rows.append(_row(w("disk"), w("free_of", free=w.size(disk["free_bytes"]), total=w.size(disk["total_bytes"])),
                         "warn" if low else ""))
    else:
        rows.append(_row(w("disk"), disk.get("error", "-"), "bad"))
    rows.append(_row(w("store"), w("store_use", used=w.size(box["used_bytes"]), max=w.size(box["max_bytes"]))))
    backlog = w.count("records", box["backlog"])
    if box["oldest_pending_ts"] is not None:
        backlog += ", " + w("oldest", ago=w.ago(box["oldest_pending_ts"], now))
    if box["dropped"]:
        backlog += "; " + w("dropped", n=box["dropped"])
    rows.append(_row(w("backlog"), backlog, "bad" if box["dropped"] else "warn" if box["backlog"] > 1000 else ""))
    rows.extend(_upstream_rows(upstream, w, now))
    return rows


def _upstream_rows(upstream: dict[str, Any] | None, w: Words, now: float) -> list[Row]:
    if upstream is None:
        return [_row(w("upstream"), w("upstream_unknown"))]
    where = f"{upstream['host']}:{upstream['port']}"
    if upstream["connected"]:
        link = _row(w("upstream"), w("connected_to", where=where, since=w.moment(upstream["connected_since"], now)),
                    "ok")
    else:
        why = upstream.get("problem") or upstream.get("last_disconnect_reason") or ""
        link = _row(w("upstream"), w("disconnected_from", where=where) + (f" : {why}" if why else ""), "bad")
    return [link, _row(w("last_ack"), w.ago(upstream.get("last_ack_at"), now))]


def _row(label: str, text: str, tone: str = "") -> Row:
    return {"label": label, "text": text, "tone": tone}


# -- devices and their signal ------------------------------------------------------------------------

def reception_verdicts(uplink: dict[str, Any]) -> list[tuple[dict[str, Any], Verdict]]:
    return [(rx, judge(rx.get("rssi"), rx.get("snr"), uplink.get("spreading_factor"), uplink.get("bandwidth")))
            for rx in uplink.get("gateways", [])]


def signal_summary(uplinks: list[dict[str, Any]], w: Words) -> Row:
    """The device's verdict from its last uplink, with each gateway's line (best first)."""
    if not uplinks:
        return {"level": Level.UNKNOWN.value, "tone": "", "text": w("no_uplink"), "gateways": []}
    last = uplinks[0]
    judged = reception_verdicts(last)
    verdict = best([v for _, v in judged])
    judged.sort(key=lambda pair: -(pair[1].margin_db if pair[1].margin_db is not None else -999.0))
    gateways = [{"gateway": rx.get("gateway") or "?", "rssi": rx.get("rssi"), "snr": rx.get("snr"),
                 "sf": last.get("spreading_factor"), "margin": v.margin_db, "level": v.level.value,
                 "tone": TONES[v.level], "text": _verdict_text(v, w)} for rx, v in judged]
    return {"level": verdict.level.value, "tone": TONES[verdict.level], "text": _verdict_text(verdict, w),
            "margin": verdict.margin_db, "sf": last.get("spreading_factor"), "ts": last.get("ts"),
            "f_cnt": last.get("f_cnt"), "gateways": gateways}


def _verdict_text(verdict: Verdict, w: Words) -> str:
    if verdict.level is Level.UNKNOWN:
        return w("unknown")
    return f"{w(verdict.level.value)} ({w.number(verdict.margin_db, 3)}\u00a0dB)"


def device_cards(status: dict[str, Any], radio: dict[str, list[dict[str, Any]]], w: Words, now: float) -> list[Row]:
    return [device_card(row, radio.get(row["name"]), w, now) for row in status["devices"]]


def device_card(row: dict[str, Any], uplinks: list[dict[str, Any]] | None, w: Words, now: float) -> Row:
    values = row["values"]
    shown = sorted((p for p in values if "." not in p), key=str)
    alarms = list(row.get("alarms") or [])
    alarms += [p.split(".", 1)[1] for p in values if p.startswith("alarm.") and values[p]["value"] is True
               and not any(a.startswith(p.split(".", 1)[1]) for a in alarms)]
    state, tone = _state(row, w)
    return {
        "name": row["name"], "kind": w(f"driver_{row['driver']}"), "model": row["model"], "address": row["address"],
        "state": state, "state_tone": tone, "tone": "bad" if alarms else tone, "seen": w.ago(row["last_seen"], now),
        "errors": row.get("errors") or 0, "last_error": row.get("last_error"), "alarms": alarms,
        "values": [_value(p, values[p], w) for p in shown],
        "signal": signal_summary(uplinks, w) if uplinks is not None else None,
    }


def _state(row: dict[str, Any], w: Words) -> tuple[str, str]:
    if row["last_seen"] is None and row["online"] is None:
        return w("not_heard"), "warn"
    if row["online"] is None:
        return w("unknown"), ""
    if row["online"]:
        return w("online"), "ok"
    return (w("silent"), "bad") if row["driver"] == "lorawan" else (w("offline"), "bad")


def _value(point: str, value: dict[str, Any], w: Words) -> Row:
    quality = value.get("quality", "good")
    return {"point": point, "text": w.number(value["value"]), "unit": value.get("unit") or "",
            "quality": "" if quality == "good" else w(f"quality_{quality}"),
            "tone": "" if quality == "good" else "bad" if quality == "bad" else "warn",
            "numeric": isinstance(value["value"], int | float)}


# -- lighting ----------------------------------------------------------------------------------------

def group_cards(groups: list[dict[str, Any]], config: SiteConfig, w: Words, now: float, *,
                running: bool = True) -> list[Row]:
    """Each group: its level and why, what comes next, the night's plan. With the agent stopped, the level is
    the program's and a hold is one kept for when the agent starts again."""
    site = config.site
    place = Place(site.latitude, site.longitude, site.timezone)
    cards = []
    for group in groups:
        plan = _night_plan(config, group["group"], place, now)
        steps: list[Row] = []
        if plan is not None:
            with contextlib.suppress(SunError, KeyError):
                steps = [{"at": datetime.fromisoformat(s["local"]).strftime("%H:%M"), "level": s["level"],
                          "cause": cause(s["cause"], w), "now": False}
                         for s in plan_json(plan, group["category"], site.timezone)["steps"]]
                current = [i for i, s in enumerate(plan.steps) if s.ts <= now]
                if current:
                    steps[current[-1]]["now"] = True
        override = group.get("override")
        held = running and override is not None
        cards.append({
            "name": group["group"], "category": w.category(group["category"]),
            "level": "-" if group["level"] is None else f"{group['level']}\u00a0%",
            "level_note": "" if running else w("planned_level"),
            "why": _why(group, w) if running else _kept(override, w), "held": held,
            "next": _next(group if running else {"next_change": group.get("next_change")},
                          _planner(config, group["group"], place, plan), w, now),
            "steps": steps,
        })
    return cards


def _night_plan(config: SiteConfig, group: str, place: Place, ts: float) -> NightPlan | None:
    """The group's plan of the night (noon to noon) that holds ``ts``; None when it cannot be made."""
    with contextlib.suppress(SunError, KeyError):
        return night_plan(config.lighting, group, night_of(ts, config.site.timezone), place)
    return None


def _planner(config: SiteConfig, group: str, place: Place,
             tonight: NightPlan | None) -> Callable[[float], NightPlan | None]:
    """The plan of the night that holds an instant: tonight's, or the one a hold ends in."""
    def plan_at(ts: float) -> NightPlan | None:
        if tonight is not None and tonight.start <= ts < tonight.end:
            return tonight
        return _night_plan(config, group, place, ts)

    return plan_at


def _next(group: dict[str, Any], plan_at: Callable[[float], NightPlan | None], w: Words, now: float) -> str:
    """The next change: the hold's end when held (and the program's level then, in whichever night it ends), else
    the program's next step."""
    override = group.get("override")
    if override is not None:
        left = override.get("remaining_s")
        if left is None:
            return str(w("hold_no_end"))
        ends = now + float(left)
        plan = plan_at(ends)  # the night that holds the hold's end
        if plan is not None:
            return str(w("hold_ends", at=w.clock(ends), level=plan.level_at(ends)))
        return str(w("hold_ends_at", at=w.clock(ends)))
    upcoming = group.get("next_change")
    if upcoming is None:
        return "-"
    return f"{w.clock(datetime.fromisoformat(upcoming['at']).timestamp())} → {upcoming['level']}\u00a0%"


def _kept(override: dict[str, Any] | None, w: Words) -> str:
    """A hold the stopped agent saved and takes up again when it starts; else the program's."""
    if override is None:
        return w("by_program")
    who = w.source(str(override.get("source") or "?"))
    if override.get("remaining_s") is None:
        return w("saved_hold_forever", level=override["level"], who=who)
    return w("saved_hold", level=override["level"], who=who, left=w.span(override["remaining_s"]))


def _why(group: dict[str, Any], w: Words) -> str:
    override = group.get("override")
    if override is not None:
        who = w.source(str(override.get("source") or "?"))
        if override.get("remaining_s") is None:
            return w("by_override_forever", who=who)
        return w("by_override", who=who, left=w.span(override["remaining_s"]))
    source = str(group.get("source") or "-")
    return reason(source, w) if source != "-" else source


# -- events ------------------------------------------------------------------------------------------

def event_rows(events: list[dict[str, Any]], config: SiteConfig, w: Words, now: float) -> list[Row]:
    tone = {"alarm": "bad", "critical": "bad", "warning": "warn"}
    rule_kinds = {rule.name: rule.kind for rule in config.alarms}
    return [{"at": w.moment(e["ts"], now), "device": e.get("device") or "-", "kind": e["kind"],
             "priority": w.priority(e["priority"]), "message": describe(e, w, rule_kinds),
             "tone": tone.get(e["priority"], "")} for e in events]
