"""The agent's own sentences in the page's language: its events, and why its lighting plans do what they do. Pure.

The agent writes each event's message in English (the journal's and the hypervisor's language) with the facts in
its data; the French page writes the sentence again from those facts. A kind this module does not know, or an
event whose data lacks a fact, keeps the agent's message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from edge_agent.web.i18n import Words

Data = Mapping[str, Any]
Phrase = Callable[[Data, Words, Mapping[str, str]], str]


def describe(event: Mapping[str, Any], w: Words, rule_kinds: Mapping[str, str]) -> str:
    """The event's sentence; ``rule_kinds`` maps the site's alarm rule names to their kind."""
    message = str(event.get("message") or event.get("kind") or "")
    if w.lang != "fr":
        return message
    phrase = _FRENCH.get(str(event.get("kind")))
    if phrase is None and str(event.get("kind", "")).startswith("downlink_"):
        phrase = _downlink
    if phrase is None:
        return message
    try:
        return phrase(event.get("data") or {}, w, rule_kinds)
    except (KeyError, TypeError, ValueError):
        return message


def cause(text: str, w: Words) -> str:
    """A step's cause in a night's plan ("sunset+15-23:00", "no period") in the page's language."""
    if text == "no period":
        return w("no_period")
    if text == "no calendar rule for this night":
        return w("no_calendar_rule")
    span = SPAN.fullmatch(text)
    if span is None:
        return text
    return f"{_moment(span['start'], w)} – {_moment(span['end'], w)}"


REF = r"(?:\d\d:\d\d|[a-z_]+(?:[+-]\d+)?)"
SPAN = re.compile(rf"(?P<start>{REF})-(?P<end>{REF})")
SUN_EVENTS = ("sunset", "sunrise", "civil_dusk", "civil_dawn")


def _moment(ref: str, w: Words) -> str:
    """"23:00" as it is; "sunset+15" as "sunset + 15 min" in words."""
    found = re.fullmatch(r"([a-z_]+)(?:([+-])(\d+))?", ref)
    if found is None or found[1] not in SUN_EVENTS:
        return ref
    event = w(f"sun_{found[1]}")
    return event if found[2] is None else f"{event} {'+' if found[2] == '+' else '−'} {found[3]} min"


def reason(source: str, w: Words) -> str:
    """Why the rules set a level ("program NAME", "override", "safe")."""
    if source.startswith("program "):
        return f"{w('by_program')} {source[len('program '):]}"
    return {"override": w("held_word"), "safe": w("by_safe")}.get(source, source)


def _alarm(raised: bool) -> Phrase:
    def phrase(data: Data, w: Words, kinds: Mapping[str, str]) -> str:
        rule, point, value = str(data["rule"]), data.get("point"), data["value"]
        kind = kinds.get(rule, "threshold")
        if kind == "silent":
            return f"silencieux depuis {w.span(float(value))}" if raised else "de nouveau entendu"
        if kind == "lamp_failure":
            return ("courant presque nul alors que l'éclairage est commandé (lampe ou fusible en panne)" if raised
                    else "le courant est revenu")
        if kind == "door_at_night":
            return "porte ouverte la nuit" if raised else "porte refermée"
        what = f"{point} = {w.number(value)}\u00a0: " if point else ""
        return f"{what}alarme « {rule} » déclenchée" if raised else f"{what}fin de l'alarme « {rule} »"
    return phrase


def _override(data: Data, w: Words, _: Mapping[str, str]) -> str:
    who = w.source(str(data.get("source") or "?"))
    if data.get("level") is None:
        return f"groupe {data['group']} rendu à son programme ({who})"
    held = f"groupe {data['group']} maintenu à {int(data['level'])} %"
    if data.get("duration_s"):
        held += f" pendant {w.span(float(data['duration_s']))}"
    return f"{held} ({who})"


def _set_level(data: Data, w: Words, _: Mapping[str, str]) -> str:
    where = f".{data['point']}" if data.get("point") else ""
    failure = data.get("error") or f"relu {data.get('read_back')} %"
    done = "fait" if data["ok"] else f"ÉCHEC ({failure})"
    return (f"groupe {data['group']}\u00a0: {where.lstrip('.') or 'niveau'} à {int(data['level'])} %"
            f" ({reason(str(data.get('reason', '')), w)})\u00a0: {done}")


def _downlink(data: Data, w: Words, _: Mapping[str, str]) -> str:
    status = {"queued": "confiée à ChirpStack", "sent": "émise", "delivered": "reçue par l'appareil",
              "failed": "ÉCHEC", "expired": "sans réponse à temps"}.get(str(data["status"]), str(data["status"]))
    return f"commande {data['command']} vers l'appareil\u00a0: {status}" + (f" ({data['reason']})" if data.get("reason")
                                                                      else "")


_FRENCH: dict[str, Phrase] = {
    "agent_started": lambda d, w, k: f"edge-agent {d['version']} démarré",
    "clock_synced": lambda d, w, k: "horloge synchronisée",
    "clock_unsynced": lambda d, w, k: "horloge NON synchronisée",
    "alarm.raised": _alarm(True),
    "alarm.cleared": _alarm(False),
    "lighting.override": _override,
    "lighting.override_expired": lambda d, w, k: f"groupe {d['group']}\u00a0: fin du maintien, le programme reprend",
    "lighting.set_level": _set_level,
    "device_online": lambda d, w, k: "de nouveau en ligne",
    "device_offline": lambda d, w, k: f"HORS LIGNE\u00a0: {d['reason']}",
    "device_silent": lambda d, w, k: f"silencieux depuis {w.span(float(d['quiet_seconds']))}",
    "device_heard_again": lambda d, w, k: "de nouveau entendu",
    "device_joined": lambda d, w, k: "a rejoint le réseau LoRaWAN",
    "device_alarm": lambda d, w, k: f"alarme « {d['alarm']} » signalée par l'appareil",
    "device_alarm_cleared": lambda d, w, k: f"fin de l'alarme « {d['alarm']} » signalée par l'appareil",
    "device_unusable": lambda d, w, k: f"inutilisable\u00a0: {d['problem']}",
    "uplinks_lost": lambda d, w, k: (f"{d['lost']} trame(s) perdue(s) (fCnt {d['previous_f_cnt']} → {d['f_cnt']})"),
    "fcnt_reset": lambda d, w, k: (f"compteur de trames revenu de {d['previous_f_cnt']} à {d['f_cnt']}"
                                   " (nouvelle connexion ou redémarrage)"),
    "uplink_undecodable": lambda d, w, k: f"trame non décodée\u00a0: {d['reason']}",
    "uplink_unknown_device": lambda d, w, k: f"trame du devEUI {d['dev_eui']}, absent de la configuration",
    "uplink_malformed": lambda d, w, k: f"message de ChirpStack illisible\u00a0: {d['reason']}",
    "uplink_time_replaced": lambda d, w, k: (f"trame fCnt {d['f_cnt']} datée hors de 2000-2100\u00a0: horodatée à sa"
                                             " réception"),
    "store_dropping": lambda d, w, k: f"stockage plein\u00a0: {d['dropped']} lectures les plus anciennes supprimées",
    "store_corrupt": lambda d, w, k: f"stockage illisible, mis de côté dans {d['moved_to']}",
    "record_set_aside": lambda d, w, k: (f"enregistrement {d['seq']} mis de côté, il ne sera pas envoyé\u00a0:"
                                         f" {d['reason']}"),
    "report.daily": lambda d, w, k: f"rapport quotidien du {w.day(str(d['day']))} préparé",
}
