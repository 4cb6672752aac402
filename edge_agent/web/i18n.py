"""The page's words in French (the default: the communes' staff are French) and English, and how numbers,
times and durations are written in each. Pure."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

LANGUAGES = ("fr", "en")
DEFAULT = "fr"

# key: (French, English)
WORDS: dict[str, tuple[str, str]] = {
    "title": ("Passerelle", "Gateway"),
    "gateway": ("Passerelle", "Gateway"),
    "devices": ("Appareils", "Devices"),
    "radio": ("Radio LoRaWAN", "LoRaWAN radio"),
    "lighting": ("Éclairage", "Lighting"),
    "events": ("Événements", "Events"),
    "chart": ("Courbe sur 24 heures", "24-hour chart"),
    "commune": ("Commune", "Commune"),
    "gateway_id": ("Identifiant", "Identifier"),
    "version": ("Version", "Version"),
    "agent": ("Agent", "Agent"),
    "running_since": ("en marche depuis {uptime}", "running for {uptime}"),
    "agent_stopped": ("ARRÊTÉ\u00a0: chiffres lus dans le stockage", "STOPPED: figures read from the store"),
    "clock": ("Horloge", "Clock"),
    "synced": ("synchronisée", "synchronised"),
    "not_synced": ("NON synchronisée (horodatages signalés)", "NOT synchronised (timestamps flagged)"),
    "unknown": ("inconnu", "unknown"),
    "disk": ("Disque", "Disk"),
    "free_of": ("{free} libres sur {total}", "{free} free of {total}"),
    "store": ("Stockage", "Store"),
    "store_use": ("{used} sur {max}", "{used} of {max}"),
    "backlog": ("En attente d'envoi", "Waiting to be sent"),
    "records": ("{n}\u00a0données", "{n}\u00a0records"),
    "record_one": ("1\u00a0donnée", "1\u00a0record"),
    "oldest": ("la plus ancienne {ago}", "oldest {ago}"),
    "dropped": ("{n} lectures abandonnées (stockage plein)", "{n} readings dropped (store full)"),
    "upstream": ("Liaison amont", "Upstream link"),
    "connected_to": ("connectée à {where} depuis {since}", "connected to {where} since {since}"),
    "disconnected_from": ("DÉCONNECTÉE de {where}", "DISCONNECTED from {where}"),
    "upstream_unknown": ("inconnue (agent arrêté)", "unknown (the agent is stopped)"),
    "last_ack": ("Dernier accusé de réception", "Last acknowledgement"),
    "never": ("jamais", "never"),
    "kind": ("Type", "Kind"),
    "state": ("État", "State"),
    "last_seen": ("Vu", "Seen"),
    "values": ("Dernières valeurs", "Last values"),
    "alarms": ("Alarmes", "Alarms"),
    "online": ("en ligne", "online"),
    "offline": ("HORS LIGNE", "OFFLINE"),
    "silent": ("SILENCIEUX", "SILENT"),
    "not_heard": ("pas encore entendu", "not heard yet"),
    "errors": ("{n}\u00a0erreurs", "{n}\u00a0errors"),
    "error_one": ("1\u00a0erreur", "1\u00a0error"),
    "driver_modbus": ("Modbus", "Modbus"),
    "driver_lorawan": ("LoRaWAN", "LoRaWAN"),
    "driver_simulated": ("simulé", "simulated"),
    "quality_uncertain": ("incertaine", "uncertain"),
    "quality_bad": ("mauvaise", "bad"),
    "signal": ("Signal", "Signal"),
    "good": ("bon", "good"),
    "weak": ("faible", "weak"),
    "too_weak": ("trop faible", "too weak"),
    "no_uplink": ("aucune trame", "no uplink"),
    "radio_help": ("Marge au-dessus de ce que la passerelle sait décoder à ce facteur d'étalement\u00a0: bon à partir"
                   " de 10 dB, faible de 2,5 à 10 dB, trop faible en dessous (déplacer l'appareil ou son antenne).",
                   "Margin above what the gateway can decode at this spreading factor: good from 10 dB, weak from"
                   " 2.5 to 10 dB, too weak below (move the device or its antenna)."),
    "radio_gateway": ("Passerelle", "Gateway"),
    "more_values": ("toutes les valeurs ({n})", "all values ({n})"),
    "margin": ("Marge", "Margin"),
    "sf": ("SF", "SF"),
    "uplink": ("Trame", "Uplink"),
    "group": ("Groupe", "Group"),
    "level_now": ("Niveau", "Level"),
    "why": ("Pourquoi", "Why"),
    "by_program": ("programme", "program"),
    "by_override": ("maintenu par {who}, encore {left}", "held by {who}, {left} left"),
    "by_override_forever": ("maintenu par {who}", "held by {who}"),
    "by_safe": ("niveau de sécurité (horloge non synchronisée)", "safe level (clock not synchronised)"),
    "next_change": ("Prochain changement", "Next change"),
    "night_plan": ("Plan de la nuit", "The night's plan"),
    "off_all_night": ("éteint toute la nuit", "off all night"),
    "hold": ("Maintenir", "Hold"),
    "hold_for": ("pendant", "for"),
    "resume": ("Rendre au programme", "Give back to the program"),
    "read_now": ("Lire maintenant", "Read now"),
    "login_to_act": ("Se connecter pour agir", "Log in to act"),
    "login": ("Se connecter", "Log in"),
    "logout": ("Se déconnecter", "Log out"),
    "password": ("Mot de passe", "Password"),
    "login_title": ("Connexion", "Log in"),
    "login_help": ("Les actions (maintenir un groupe, lire un appareil) demandent le mot de passe de la page.",
                   "Actions (holding a group, reading a device) need the page's password."),
    "no_password": ("Aucun mot de passe n'est défini\u00a0: lancez « sudo edge-agent web passwd » sur la passerelle.",
                    "No password is set: run 'sudo edge-agent web passwd' on the gateway."),
    "wrong_password": ("Mot de passe incorrect.", "Wrong password."),
    "too_many": ("Trop d'essais\u00a0: réessayez dans {s} s.", "Too many attempts: try again in {s} s."),
    "logged_out": ("Vous êtes déconnecté.", "You are logged out."),
    "held": ("Groupe {group} maintenu à {level} %.", "Group {group} held at {level} %."),
    "resumed": ("Groupe {group} rendu à son programme.", "Group {group} given back to its program."),
    "read_done": ("{device} lu\u00a0: {values}", "{device} read: {values}"),
    "read_heard": ("{device}\u00a0: dernières valeurs entendues ({values})", "{device}: last values heard ({values})"),
    "refused": ("Refusé\u00a0: {why}", "Refused: {why}"),
    "csrf": ("Formulaire périmé ou étranger\u00a0: rechargez la page et recommencez.",
             "Stale or foreign form: reload the page and try again."),
    "must_login": ("Connectez-vous d'abord.", "Log in first."),
    "time": ("Heure", "Time"),
    "device": ("Appareil", "Device"),
    "what": ("Quoi", "What"),
    "no_events": ("Aucun événement depuis 24 heures.", "No event in the last 24 hours."),
    "no_devices": ("Aucun appareil configuré.", "No device configured."),
    "point": ("Point", "Point"),
    "show": ("Afficher", "Show"),
    "no_data": ("Pas de valeur numérique sur 24 heures.", "No numeric value in the last 24 hours."),
    "updated": ("Mis à jour à {at}", "Updated at {at}"),
    "back": ("Retour", "Back"),
    "address": ("Adresse", "Address"),
    "model": ("Modèle", "Model"),
    "not_found": ("Introuvable.", "Not found."),
    "lang_switch": ("English", "Français"),
    "minutes": ("{n}\u00a0min", "{n}\u00a0min"),
    "problem": ("Problème", "Problem"),
    "chart_of": ("{point} de {device}", "{point} of {device}"),
    "min_max": ("zone\u00a0: min–max sur 5 min\u00a0; trait\u00a0: moyenne", "band: 5-min min–max; line: mean"),
    "just_now": ("à l'instant", "just now"),
    "no_period": ("hors des périodes du programme", "outside the program's periods"),
    "no_calendar_rule": ("aucune règle du calendrier pour cette nuit", "no calendar rule for this night"),
    "sun_sunset": ("coucher du soleil", "sunset"),
    "sun_sunrise": ("lever du soleil", "sunrise"),
    "sun_civil_dusk": ("crépuscule civil", "civil dusk"),
    "sun_civil_dawn": ("aube civile", "civil dawn"),
    "held_word": ("maintien", "hold"),
    "hold_ends": ("{at}\u00a0: fin du maintien, retour à {level} %", "{at}: the hold ends, back to {level} %"),
    "hold_ends_at": ("{at}\u00a0: fin du maintien", "{at}: the hold ends"),
    "hold_no_end": ("aucun\u00a0: maintenu sans limite", "none: held with no end"),
    "planned_level": ("prévu par le programme", "the program's level"),
    "saved_hold": ("maintien enregistré à {level} % par {who}, repris au redémarrage de l'agent (encore {left})",
                   "hold at {level} % by {who} kept, resumed when the agent starts again ({left} left)"),
    "saved_hold_forever": ("maintien enregistré à {level} % par {who}, repris au redémarrage de l'agent",
                           "hold at {level} % by {who} kept, resumed when the agent starts again"),
    "no_action_stopped": ("L'agent est arrêté\u00a0: aucune action possible tant qu'il ne tourne pas.",
                          "The agent is stopped: no action until it runs again."),
    "not_running_act": ("l'agent est arrêté, il ne peut pas agir\u00a0; démarrez-le avec"
                        " « sudo systemctl start edge-agent »",
                        "the agent is not running, so it cannot act; start it with"
                        " 'sudo systemctl start edge-agent'"),
    "cannot_ask": ("l'agent ne répond pas\u00a0: {why}", "the agent cannot be asked: {why}"),
    "stale": ("Page non mise à jour\u00a0: la passerelle ne répond pas, nouvel essai dans quelques secondes.",
              "Not up to date: the gateway does not answer; trying again in a few seconds."),
    "category_road": ("voirie", "road"),
    "category_heritage": ("patrimoine", "heritage"),
    "category_park": ("parc, jardin", "park"),
    "category_shop_window": ("vitrines", "shop windows"),
    "category_activity": ("activité", "activity"),
    "category_car_park": ("parking", "car park"),
}

SOURCES = {"technician": ("technicien", "technician"), "hypervisor": ("hyperviseur", "hypervisor"),
           "manual": ("manuel", "manual")}
PRIORITIES = {"info": ("info", "info"), "warning": ("avertissement", "warning"), "alarm": ("ALARME", "ALARM"),
              "critical": ("CRITIQUE", "CRITICAL"), "routine": ("routine", "routine")}


class Words:
    """The words, numbers and times of one language."""

    def __init__(self, lang: str, timezone: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT
        self._index = LANGUAGES.index(self.lang)
        self.zone = ZoneInfo(timezone)

    def __call__(self, key: str, **values: object) -> str:
        text = WORDS[key][self._index]
        return text.format(**values) if values else text

    @property
    def colon(self) -> str:
        """What goes before a colon: a no-break space in French, nothing in English."""
        return "\u00a0:" if self.lang == "fr" else ":"

    def category(self, name: str) -> str:
        key = f"category_{name}"
        return self(key) if key in WORDS else name

    def day(self, iso: str) -> str:
        """A date (YYYY-MM-DD) as each language writes it."""
        year, month, day = iso[:10].split("-")
        return f"{day}/{month}/{year}" if self.lang == "fr" else f"{year}-{month}-{day}"

    def count(self, key: str, n: int) -> str:
        """'{n} records' with its singular ("record_one") for one."""
        return self(f"{key.rstrip('s')}_one") if n == 1 else self(key, n=n)

    def source(self, name: str) -> str:
        return SOURCES.get(name, (name, name))[self._index]

    def priority(self, name: str) -> str:
        return PRIORITIES.get(name, (name, name))[self._index]

    def number(self, value: object, digits: int = 4) -> str:
        """A value as a person reads it: a few significant digits, a decimal comma in French."""
        if isinstance(value, bool):
            return ("oui", "yes")[self._index] if value else ("non", "no")[self._index]
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                return "-"
            text = f"{value:.{digits}g}" if abs(value) < 10 ** digits else f"{value:.0f}"
            return text.replace(".", ",") if self.lang == "fr" else text
        return "-" if value is None or value == "" else str(value)

    def clock(self, ts: float | None, *, seconds: bool = False) -> str:
        if ts is None:
            return "-"
        return datetime.fromtimestamp(ts, self.zone).strftime("%H:%M:%S" if seconds else "%H:%M")

    def moment(self, ts: float | None, now: float) -> str:
        """A time of day, with the date when it is not today."""
        if ts is None:
            return "-"
        when, today = datetime.fromtimestamp(ts, self.zone), datetime.fromtimestamp(now, self.zone)
        return when.strftime("%H:%M:%S") if when.date() == today.date() else when.strftime("%d/%m %H:%M")

    def span(self, seconds: float | None) -> str:
        if seconds is None:
            return "-"
        seconds = max(0.0, seconds)
        if seconds < 90:
            return f"{seconds:.0f}\u00a0s"
        if seconds < 5400:
            return self("minutes", n=round(seconds / 60))
        if seconds < 2 * 86_400:
            hours, minutes = divmod(round(seconds / 60), 60)
            return f"{hours}\u00a0h" if minutes == 0 else f"{hours}\u00a0h\u00a0{minutes:02d}"
        days = seconds / 86_400
        return f"{days:.0f}\u00a0{('jours', 'days')[self._index]}"

    def ago(self, ts: float | None, now: float) -> str:
        if ts is None:
            return self("never")
        if now - ts < 1.5:
            return self("just_now")
        span = self.span(now - ts)
        return f"il y a {span}" if self.lang == "fr" else f"{span} ago"

    def size(self, count: float | None) -> str:
        if count is None:
            return "-"
        units = ("o", "ko", "Mo", "Go", "To") if self.lang == "fr" else ("B", "kB", "MB", "GB", "TB")
        value, index = float(count), 0
        while value >= 1000 and index < len(units) - 1:
            value, index = value / 1000, index + 1
        return f"{self.number(round(value, 1), 3)}\u00a0{units[index]}"
