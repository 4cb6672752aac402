"""The words of the reports' tables and charts, in French (the communes' language, ``site.language``'s default)
or English, and how each writes numbers and dates. Pure.

Only what a person reads changes with the language; the CSV and JSON forms keep their English column names and
keys, which scripts and the hypervisor read.
"""

from __future__ import annotations

from datetime import date

LANGUAGES = ("fr", "en")

# key: (French, English)
TEXT: dict[str, tuple[str, str]] = {
    # energy
    "energy_title": ("Éclairage public, {commune}, nuits {span}", "Lighting energy, {commune}, nights of {span}"),
    "factors": ("CO2e {co2} kg/kWh", "CO2e {co2} kg/kWh"),
    "tariff": ("{tariff} €/kWh", "{tariff} EUR/kWh"),
    "no_tariff": ("pas de tarif dans [reports.energy], donc pas de coût",
                  "no tariff in [reports.energy], so no cost"),
    "shared": (" – sa consommation est sa part d'un compteur partagé avec d'autres groupes",
               " - its energy is its share of a meter it shares with other groups"),
    "night": ("nuit", "night"), "month": ("mois", "month"), "year": ("année", "year"),
    "program": ("programme", "program"), "kwh": ("kWh", "kWh"), "full_kwh": ("kWh à 100 %", "full-power kWh"),
    "saved_kwh": ("kWh évités", "saved kWh"), "saved": ("économie", "saved"), "eur": ("€", "EUR"),
    "co2": ("kg CO2e", "kg CO2e"), "h_full": ("h pleine", "h full"), "h_dimmed": ("h abaissé", "h dimmed"),
    "h_off": ("h éteint", "h off"), "h_decree": ("h hors arrêté", "h decree"),
    "total": ("total", "total"), "nights": ("{n} nuits", "{n} nights"), "night_one": ("1 nuit", "1 night"),
    "basis_modelled": ("énergie modélisée (sans compteur)", "modelled energy"),
    "basis_unknown": ("énergie inconnue", "unknown energy"),
    "coverage": ("compteur lu sur {share} de la nuit", "meter read over {share} of the night"),
    "override": ("maintien à {level} % {start}-{end} par {who} ({kwh} kWh)",
                 "override {level} % {start}-{end} by {who} ({kwh} kWh)"),
    "lamp_failure": ("panne de lampe {device} {at}", "lamp failure {device} {at}"),
    "counter_issue": ("compteur {kind} {at} ({before} -> {after})", "meter {kind} {at} ({before} -> {after})"),
    "assumed": ("{hours} h de niveau pris dans le programme", "{hours} h of level taken from the program"),
    "left_out": ("écartés : {bad} lectures de qualité douteuse, {unsynced} enregistrements faits avant la"
                 " synchronisation de l'horloge",
                 "left out: {bad} readings not of good quality, {unsynced} records made before the clock was"
                 " synchronised"),
    "issue_reset": ("remis à zéro", "reset"), "issue_rollover": ("passé par zéro", "rollover"),
    "issue_glitch": ("lecture aberrante écartée", "glitch"), "issue_gap": ("sans relevé", "gap"),
    "source_hypervisor": ("l'hyperviseur", "hypervisor"), "source_technician": ("un technicien", "technician"),
    "source_manual": ("un opérateur", "manual"),
    "category_road": ("voirie", "road"), "category_heritage": ("patrimoine", "heritage"),
    "category_park": ("parc, jardin", "park"), "category_shop_window": ("vitrines", "shop windows"),
    "category_activity": ("activité", "activity"), "category_car_park": ("parking", "car park"),
    # waste
    "waste_title": ("Bacs, {commune}, {span} (à collecter dès {collect} %, débordement dès {overflow} %)",
                    "Bins, {commune}, {span} (collect at {collect} %, overflowing at {overflow} %)"),
    "bin": ("bac", "bin"), "fill": ("remplissage", "fill"), "last_reading": ("dernière lecture", "last reading"),
    "rate": ("% par jour", "% a day"), "collections": ("collectes", "collections"), "h_full_bin": ("h plein", "h full"),
    "h_overflow": ("h débordement", "h overflow"), "full_on": ("plein le", "full on"),
    "collect": ("à collecter", "collect"), "now": ("maintenant", "now"), "yes": ("oui", "yes"),
    "to_collect": ("À collecter le {day} : {bins}", "To collect on {day}: {bins}"),
    "bins": ("{n} bacs", "{n} bins"), "bin_one": ("1 bac", "1 bin"), "no_bin": ("aucun bac", "no bin"),
    "no_position": ("pas de position dans la configuration", "no position in the config"),
    # mobility
    "counts_title": ("Comptages, {commune}, {span}", "Counts, {commune}, {span}"),
    "counter": ("compteur", "counter"), "flows": ("par sens ou type", "by direction or kind"),
    "a_day": ("par jour", "a day"), "peak": ("heure de pointe", "peak hour"),
    "busiest": ("heure la plus chargée", "busiest hour"), "per_day": ("{mean}/jour", "{mean}/day"),
    "parking": ("Places de stationnement : occupées {share} du temps",
                "Parking spaces: occupied {share} of the time"),
    "space": ("place", "space"), "occupied": ("occupée", "occupied"), "known_h": ("heures connues", "hours known"),
    "busiest_hour": ("heure la plus occupée", "busiest hour of the day"),
    "flow_left_to_right": ("gauche → droite", "left to right"), "flow_right_to_left": ("droite → gauche",
                                                                                      "right to left"),
    "flow_in": ("entrées", "in"), "flow_out": ("sorties", "out"), "flow_vehicles": ("véhicules", "vehicles"),
    "flow_people": ("personnes", "people"), "flow_bikes": ("vélos", "bikes"),
    # charts
    "chart_energy_title": ("Éclairage public, {commune} : nuits {span}",
                           "Street lighting, {commune}: nights of {span}"),
    "chart_saved": ("{kwh} kWh économisés ({share})", "{kwh} kWh saved ({share})"),
    "chart_eur": ("{eur} € économisés", "{eur} € saved"),
    "chart_co2": ("{kg} kg CO₂e évités", "{kg} kg CO₂e avoided"),
    "chart_baseline": ("allumé toute la nuit à pleine puissance", "lit all night at full power"),
    "chart_used": ("énergie consommée", "energy used"),
    "chart_mark_override": ("maintien", "override"), "chart_mark_lamp": ("panne de lampe", "lamp failure"),
    "chart_mark_reset": ("compteur remis à zéro", "meter reset"),
    "chart_mark_rollover": ("compteur passé par zéro", "meter rollover"),
    "chart_kwh_night": ("kWh par nuit", "kWh per night"),
    "chart_group_used": ("consommé", "used"), "chart_group_saved": ("économisé", "saved"),
    "chart_group_text": ("{kwh} kWh consommés", "{kwh} kWh used"),
    "chart_group_share": (", {share} économisés", ", {share} saved"),
    "chart_kwh_period": ("kWh sur la période", "kWh over the period"),
    "chart_energy_note": ("Pleine puissance : la puissance installée (ou celle d'avant la rénovation) du coucher au"
                          " lever du soleil. CO₂e : {co2} kg/kWh ({source}).",
                          "Full power: the installed (or pre-retrofit) power from sunset to sunrise. CO₂e:"
                          " {co2} kg/kWh ({source})."),
    "chart_waste_title": ("Bacs, {commune}, {span} : {n} à collecter le {day}",
                          "Bins, {commune}, {span}: {n} to collect on {day}"),
    "chart_fill": ("remplissage", "fill level"),
    "chart_collect_from": ("à collecter dès {level} %", "to collect from {level} %"),
    "chart_overflow_from": ("débordement dès {level} %", "overflowing from {level} %"),
    "chart_emptied": ("vidé", "emptied"), "chart_collect": ("À COLLECTER", "COLLECT"),
    "chart_every_day": ("Chaque jour", "Every day"), "chart_in_all": ("{n} en tout", "{n} in all"),
    "chart_passages_day": ("passages par jour", "passages a day"),
    "chart_average_day": ("Une journée moyenne", "An average day"),
    "chart_peak": ("pointe {hour}", "peak {hour}"), "chart_passages_hour": ("passages par heure", "passages an hour"),
    "chart_parking": ("Places de stationnement occupées, par heure ({n} places", "Parking spaces occupied, by hour"
                      " ({n} spaces"),
    "chart_parking_share": (", {share} sur la période)", ", {share} over the period)"),
}

MONTHS_FR = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
                  "novembre", "décembre")
MONTH_NAMES_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                  "November", "December")


class Wording:
    """The words, numbers and dates of one language."""

    def __init__(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"'{lang}' is not a language of the reports ({', '.join(LANGUAGES)})")
        self.lang = lang
        self._index = LANGUAGES.index(lang)

    @property
    def french(self) -> bool:
        return self.lang == "fr"

    def __call__(self, key: str, **values: object) -> str:
        text = TEXT[key][self._index]
        return text.format(**values) if values else text

    def _or_raw(self, key: str, raw: str) -> str:
        return self(key) if key in TEXT else raw

    def issue(self, kind: str) -> str:
        return self._or_raw(f"issue_{kind}", kind)

    def source(self, who: str) -> str:
        return self._or_raw(f"source_{who}", who)

    def category(self, name: str) -> str:
        return self._or_raw(f"category_{name}", name)

    def flow(self, label: str) -> str:
        return self._or_raw(f"flow_{label}", label)

    def nights(self, count: int) -> str:
        return self("night_one") if count == 1 else self("nights", n=count)

    def num(self, value: object, digits: int = 1, unit: str = "") -> str:
        """Thousands apart with a space, a decimal comma in French; "-" for no value."""
        if value is None:
            return "-"
        if isinstance(value, float):
            text = f"{value:,.{digits}f}".replace(",", " ")
            return (text.replace(".", ",") if self.french else text) + unit
        return f"{value}{unit}"

    def factor(self, value: float) -> str:
        """A factor or a price as given ("0.069"), with the language's decimal mark."""
        text = f"{value:g}"
        return text.replace(".", ",") if self.french else text

    def pct(self, share: float | None, digits: int = 0) -> str:
        if share is None:
            return "-"
        text = f"{share * 100:.{digits}f}"
        return f"{text.replace('.', ',') if self.french else text} %"

    def day(self, day: date | str) -> str:
        """A day: 31/10/2026 in French, 2026-10-31 in English."""
        day = day if isinstance(day, date) else date.fromisoformat(day[:10])
        return f"{day:%d/%m/%Y}" if self.french else day.isoformat()

    def span(self, first: date | str, last: date | str) -> str:
        """"du 01/10/2026 au 31/10/2026", "2026-10-01 to 2026-10-31"."""
        if self.french:
            return f"du {self.day(first)} au {self.day(last)}"
        return f"{self.day(first)} to {self.day(last)}"

    def month(self, label: str) -> str:
        """A month of the table ("2026-10") as "octobre 2026" or "October 2026"."""
        year, month = label.split("-")
        return f"{(MONTH_NAMES_FR if self.french else MONTH_NAMES_EN)[int(month) - 1]} {year}"

    def short_day(self, day: date) -> str:
        """A chart's day tick: "01 oct." or "01 Oct"."""
        return f"{day:%d} {(MONTHS_FR if self.french else MONTHS_EN)[day.month - 1]}"
