"""Words, numbers and dates of everything a person reads in a plan folder, in two languages.

Bahasa Indonesia (``"id"``, the default) and English (``"en"``). Numbers, dates, weekdays and
times are formatted by Babel from the CLDR data of the locale in :data:`LOCALES`, never by hand:
``18.764``, ``159,5 km``, ``Selasa, 1 September 2020`` and ``08.00–09.30`` in Bahasa Indonesia;
``18,764``, ``159.5 km``, ``Tuesday, 1 September 2020`` and ``08:00–09:30`` in English.

English uses ``en_GB``: like Indonesia it writes the day before the month and a 24-hour clock,
so the two languages of one plan read the same dates and times in the same order.

The words shared by several papers (statuses of a delivery, reasons why one is not planned, the
lines of ``summary.md``) live in :class:`Term`; the papers, trip sheets and maps keep their own
tables of headers. ``docs/glossary.md`` lists every pair of every table, with the plan.json key
it stands for, and ``tests/test_i18n.py`` keeps the tables and the glossary in step.

The reason an unassigned delivery was not planned is written from its code and its facts
(:class:`optimizer.reasons.ReasonFacts`), one function per language, never by translating
plan.json's English sentence (which stays English: it is the machine contract).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from enum import Enum, StrEnum, unique
from types import MappingProxyType
from typing import Final

from babel.dates import format_date as _babel_date
from babel.dates import format_interval as _babel_interval
from babel.dates import format_time as _babel_time
from babel.numbers import format_decimal as _babel_decimal
from babel.numbers import format_percent as _babel_percent

from optimizer.reasons import ReasonCode, ReasonFacts, english_reason


class Language(StrEnum):
    """A language of everything a person reads; members compare equal to their codes."""

    ID = "id"
    """Bahasa Indonesia, the default."""
    EN = "en"
    """English, on request."""


LANGUAGES: Final = tuple(Language)
"""Languages of everything a person reads, in the column order of every text table."""

LOCALES: Final[Mapping[Language, str]] = MappingProxyType(
    {Language.ID: "id_ID", Language.EN: "en_GB"}
)
"""Babel locale of each language (en_GB: day before month, 24-hour clock, as in Indonesia)."""

BROWSER_LOCALES: Final[Mapping[Language, str]] = MappingProxyType(
    {Language.ID: "id-ID", Language.EN: "en-GB"}
)
"""The same locales as BCP 47 tags, for numbers a map formats in the browser (``Intl``)."""

LONG_DATE: Final = "EEEE, d MMMM y"
"""``Selasa, 1 September 2020`` (Babel's own ``full`` pads the day: ``01``)."""
SHORT_DATE: Final = "EEE, d MMM y"
"""``Sel, 1 Sep 2020``."""


def parse_language(language: str) -> Language:
    """Return the :class:`Language` whose code is ``language`` (``"id"`` or ``"en"``).

    Raises
    ------
    ValueError
        If ``language`` is not one of :data:`LANGUAGES`.
    """
    try:
        return Language(language)
    except ValueError:
        raise ValueError(
            f"unknown language {language!r}: expected one of {', '.join(LANGUAGES)}"
        ) from None


def language_index(language: str) -> int:
    """Position of ``language`` in :data:`LANGUAGES` (the column of every text table).

    Raises
    ------
    ValueError
        If ``language`` is not one of :data:`LANGUAGES`.
    """
    return LANGUAGES.index(parse_language(language))


def _locale(language: str) -> str:
    return LOCALES[parse_language(language)]


# --- numbers, dates and times ----------------------------------------------------------------


def format_integer(value: float, language: str) -> str:
    """``18.764`` (id) or ``18,764`` (en): rounded to a whole number, digits grouped."""
    return _babel_decimal(round(value), format="#,##0", locale=_locale(language))


def plain_number(value: float, decimals: int = 6) -> int | float:
    """Return a number for a machine-read cell or JSON value: ``1500`` not ``1500.0``.

    Parameters
    ----------
    value
        Any number (kg, families, km).
    decimals
        Decimals kept when ``value`` is not whole: 6 in the plan files and papers (as
        ``plan.json``), 1 in the map's data.

    Returns
    -------
    int | float
        ``value`` as an int when it is whole, else rounded to ``decimals``. Unlike the
        ``format_*`` functions it is not localised: spreadsheets and browsers format it.
    """
    if float(value).is_integer():
        return int(value)
    return round(float(value), decimals)


def format_decimal(value: float, language: str, digits: int = 1) -> str:
    """``159,5`` (id) or ``159.5`` (en): exactly ``digits`` decimals, digits grouped."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return _babel_decimal(value, format=pattern, locale=_locale(language))


def format_number(value: float, language: str) -> str:
    """Write a whole number without decimals, anything else with one: ``1.500`` or ``1.234,5``."""
    if float(value).is_integer():
        return format_integer(value, language)
    return format_decimal(value, language, 1)


def format_kg(value: float, language: str) -> str:
    """``18.764 kg``."""
    return f"{format_number(value, language)} kg"


def format_km(value: float, language: str) -> str:
    """``159,5 km`` (always one decimal)."""
    return f"{format_decimal(value, language, 1)} km"


def format_percent(part: float, whole: float, language: str) -> str:
    """``93,8%`` of ``whole``; ``–`` when ``whole`` is zero (nothing was due)."""
    if not whole:
        return "–"
    return _babel_percent(part / whole, format="#,##0.0%", locale=_locale(language))


def format_long_date(day: date, language: str) -> str:
    """``Selasa, 1 September 2020`` (id) or ``Tuesday, 1 September 2020`` (en)."""
    return _babel_date(day, format=LONG_DATE, locale=_locale(language))


def format_short_date(day: date, language: str) -> str:
    """``Sel, 1 Sep 2020`` (id) or ``Tue, 1 Sept 2020`` (en)."""
    return _babel_date(day, format=SHORT_DATE, locale=_locale(language))


def format_clock(moment: datetime | time, language: str) -> str:
    """Time of day in the locale's short form: ``08.00`` (id) or ``08:00`` (en)."""
    value = moment.time() if isinstance(moment, datetime) else moment
    return _babel_time(value, format="short", locale=_locale(language))


def format_time_range(start: datetime | time, end: datetime | time, language: str) -> str:
    """``08.00–09.30`` (id) or ``08:00–09:30`` (en), by the locale's interval pattern."""
    first = start.time() if isinstance(start, datetime) else start
    last = end.time() if isinstance(end, datetime) else end
    if first == last:
        return format_clock(first, language)
    return _babel_interval(first, last, skeleton="Hm", locale=_locale(language))


# --- word tables ------------------------------------------------------------------------------


class WordTable(Enum):
    """A table of fixed words, one member per word, each ``(Bahasa Indonesia, English)``.

    The papers (``documents.papers.Text``), trip sheets (``documents.trip_sheets.SheetText``),
    maps (:class:`geodata.maps.MapText`) and :class:`Term` each keep their own table; this base
    gives them one way to look a word up.
    """

    def label(self, language: str) -> str:
        """Return the text in ``language`` (one of :data:`LANGUAGES`)."""
        text: str = self.value[language_index(language)]
        return text


# --- shared words -----------------------------------------------------------------------------


@unique
class Term(WordTable):
    """Words shared by several papers, and the lines of ``summary.md``: ``(id, en)``."""

    SCHEDULED = ("Dijadwalkan", "Scheduled")
    PARTLY_SCHEDULED = ("Dijadwalkan sebagian", "Partly scheduled")
    NOT_SCHEDULED = ("Tidak terjadwal", "Not scheduled")
    REASON_STOCK = ("Stok gudang habis", "No stock left")
    REASON_DEADLINE = (
        "Tidak ada hari kerja sebelum batas waktu",
        "No working day before the deadline",
    )
    REASON_CAPACITY = ("Tidak ada truk yang cukup besar", "No truck large enough")
    REASON_SHIFT = ("Terlalu jauh untuk satu hari kerja", "Too far for one working day")
    REASON_TIME_WINDOW = ("Jam buka tidak terpenuhi", "Opening hours cannot be met")
    REASON_FLEET_TIME = (
        "Armada tidak cukup sebelum batas waktu",
        "Not enough fleet before the deadline",
    )
    REASON_SOLVER = ("Tidak ditemukan rute", "No route found")
    REASON_NO_ROAD = ("Tidak terjangkau jalan", "No road reaches it")
    REASON_CLOSED = ("Titik bagi tutup", "Drop point closed")
    PLAN = ("Rencana", "Plan")
    STATUS = ("Status", "Status")
    COMPLETE = ("selesai", "complete")
    INTERRUPTED = ("dihentikan", "interrupted")
    STRATEGY = ("strategi", "strategy")
    SEED = ("benih acak", "random seed")
    FAMILIES_SERVED = (
        "KPM terlayani (semua tahap penuh)",
        "Families served (every tranche in full)",
    )
    OF = ("dari", "of")
    TRANCHE = ("Tahap", "Tranche")
    KG_SCHEDULED = ("kg dijadwalkan", "kg scheduled")
    LAST_DELIVERY = ("pengiriman terakhir", "last delivery")
    NO_DELIVERY = ("tidak ada pengiriman", "no delivery")
    DEADLINE = ("batas waktu", "deadline")
    LATE = ("TERLAMBAT", "LATE")
    FAMILIES_SERVED_BY_DATE = ("KPM terlayani per tanggal", "Families served by date")
    DAYS_AFTER_RELEASE = ("hari setelah tahap dibuka", "days after release")
    FAMILIES = ("KPM", "families")
    NOT_REACHED = ("belum tercapai", "not reached")
    MEAN_WAIT = ("rata-rata menunggu", "mean wait")
    TRIPS = ("Rit", "Trips")
    TRUCK_DAYS = ("hari-truk", "truck-days")
    DISTANCE = ("jarak", "distance")
    COST = ("biaya", "cost")
    NONE = ("tidak ada", "none")
    DELIVERIES = ("pengiriman", "deliveries")
    FOR_EXAMPLE = ("contoh", "for example")


REASON_LABELS: Final[Mapping[ReasonCode, Term]] = MappingProxyType(
    {
        ReasonCode.STOCK: Term.REASON_STOCK,
        ReasonCode.DEADLINE: Term.REASON_DEADLINE,
        ReasonCode.CAPACITY: Term.REASON_CAPACITY,
        ReasonCode.SHIFT: Term.REASON_SHIFT,
        ReasonCode.TIME_WINDOW: Term.REASON_TIME_WINDOW,
        ReasonCode.FLEET_TIME: Term.REASON_FLEET_TIME,
        ReasonCode.SOLVER: Term.REASON_SOLVER,
        ReasonCode.NO_ROAD: Term.REASON_NO_ROAD,
        ReasonCode.CLOSED: Term.REASON_CLOSED,
    }
)
"""A short label per reason code (the heading of a reason; the sentence says the rest)."""


def reason_label(code: ReasonCode, language: str) -> str:
    """Return the short label of a reason code in ``language``: ``Armada tidak cukup ...``."""
    return REASON_LABELS[code].label(language)


# --- reason sentences -------------------------------------------------------------------------


class _Say:
    """Formatting of one reason's facts in one language (``?`` for a fact that is missing)."""

    def __init__(self, facts: ReasonFacts, language: str) -> None:
        self.facts = facts
        self.language = language
        self.warehouse = facts.warehouses[0] if facts.warehouses else "?"

    def kg(self, value: float | None) -> str:
        return "?" if value is None else format_kg(value, self.language)

    def km(self, value: float | None) -> str:
        return "?" if value is None else format_km(value, self.language)

    def minutes(self, value: float | None) -> str:
        return format_integer(value or 0, self.language)

    def hours(self, value: float | None) -> str:
        return format_decimal(value or 0, self.language, 1)

    def day(self, value: date | None) -> str:
        return "?" if value is None else format_long_date(value, self.language)

    def window(self, open_s: int | None, close_s: int | None) -> str:
        if open_s is None or close_s is None:
            return "?"
        start = open_s % 86400
        end = close_s % 86400
        return format_time_range(
            time(start // 3600, start % 3600 // 60),
            time(end // 3600, end % 3600 // 60),
            self.language,
        )

    def stock_left(self, none: str) -> str:
        pairs = zip(self.facts.warehouses, self.facts.leftover_kg, strict=False)
        return ", ".join(f"{w} {self.kg(kg)}" for w, kg in pairs) or none


def _indonesian(code: ReasonCode, s: _Say, drop_point: str, tranche: str) -> str:
    f = s.facts
    if code is ReasonCode.STOCK:
        return (
            f"Gudang yang dapat menjangkau titik bagi {drop_point} tidak punya sisa stok untuk "
            f"satu jatah KPM lagi ({s.kg(f.ration_kg)}) pada tahap {tranche} (sisa stok di akhir "
            f"perencanaan: {s.stock_left('tidak ada')})."
        )
    if code is ReasonCode.DEADLINE:
        return (
            f"Tahap {tranche} tidak punya hari kerja antara {s.day(f.first_day)} dan batas "
            f"waktunya {s.day(f.deadline)} (tanggal mulai {s.day(f.start_date)}; periksa hari "
            "kerja dan hari libur di kalender)."
        )
    if code is ReasonCode.CLOSED:
        return (
            f"Titik bagi {drop_point} tutup pada setiap hari kerja dari {s.day(f.first_day)} "
            f"sampai {s.day(f.deadline)}, hari terakhir untuk tahap {tranche}."
        )
    if code is ReasonCode.CAPACITY:
        if f.no_trucks:
            return "Tidak ada gudang yang punya truk."
        if f.small_only:
            by = f" ({f.road} tertutup bagi truk besar)" if f.road else ""
            return (
                f"Titik bagi {drop_point} hanya dapat dijangkau truk kecil{by}, dan tidak ada "
                "gudang yang dapat melayaninya yang punya truk kecil."
            )
        return (
            f"Tidak ada truk yang dapat menjangkau titik bagi {drop_point} dan mampu mengangkut "
            f"satu jatah KPM ({s.kg(f.ration_kg or 0)}; truk terbesar "
            f"{s.kg(f.largest_truck_kg or 0)})."
        )
    if code is ReasonCode.SHIFT:
        return (
            f"Gudang terdekat {s.warehouse} berjarak {s.km(f.distance_km or 0)} lewat jalan "
            f"({s.minutes(f.travel_min)} menit sekali jalan): dengan muat dan bongkar, perjalanan "
            f"pulang-pergi melebihi jam kerja truk terpanjang ({s.hours(f.shift_h)} jam)."
        )
    if code is ReasonCode.TIME_WINDOW:
        window = s.window(f.open_s, f.close_s)
        if f.distance_km is None:
            return (
                f"Jam buka titik bagi {drop_point} ({window}) tidak dapat dipenuhi oleh rit "
                f"dari gudang {s.warehouse} dalam satu hari kerja."
            )
        return (
            f"Titik bagi {drop_point} buka {window}; dari gudang terdekat {s.warehouse} "
            f"({s.km(f.distance_km)}, {s.minutes(f.travel_min)} menit) tidak ada truk yang dapat "
            "tiba pada jam itu dan kembali sebelum jam kerjanya berakhir."
        )
    if code is ReasonCode.FLEET_TIME:
        what = (
            f"perjalanan {s.hours(f.trip_h)} jam ini ({s.kg(f.trip_kg)})"
            if f.trip_h is not None
            else f"{s.kg(f.trip_kg)} ini"
        )
        return (
            f"Armada tidak cukup sebelum batas waktu: {f.trucks or 0} truk gudang {s.warehouse} "
            f"tidak punya sisa jam kerja atau rit untuk {what} pada {f.working_days or 0} hari "
            f"kerja dari {s.day(f.first_day)} sampai batas waktu tahap {tranche}, "
            f"{s.day(f.deadline)}."
        )
    if code is ReasonCode.NO_ROAD:
        on = f" ({f.road})" if f.road else ""
        if f.snap_km is None:
            return f"Tidak ada jalan yang boleh dilalui truknya di dekat titik bagi {drop_point}."
        if f.max_snap_km is None or f.snap_km > f.max_snap_km:
            return (
                f"Titik bagi {drop_point}: jalan terdekat yang dapat dilalui berjarak "
                f"{s.km(f.snap_km)}{on}; titik yang lebih jauh dari {s.km(f.max_snap_km)} dari "
                "jalan tidak dapat dijangkau."
            )
        return (
            f"Tidak ada jalan yang boleh dilalui truknya yang menghubungkan titik bagi "
            f"{drop_point} (di {f.road or '?'}) dengan gudang mana pun."
        )
    return (
        f"Pencarian rute tidak menemukan rute untuk titik bagi {drop_point} dalam batas waktu "
        "pencariannya."
    )


def _english(code: ReasonCode, s: _Say, drop_point: str, tranche: str) -> str:
    # The same sentence as plan.json's reason (one wording), in the locale's formats.
    return english_reason(code, s.facts, drop_point, tranche, formats=s)


_SENTENCES: Final[Mapping[Language, Callable[[ReasonCode, _Say, str, str], str]]] = (
    MappingProxyType({Language.ID: _indonesian, Language.EN: _english})
)


def reason_sentence(
    code: ReasonCode, facts: ReasonFacts, drop_point: str, tranche: str, language: str
) -> str:
    """Say why a delivery was not planned, in ``language``, from its code and facts.

    Parameters
    ----------
    code
        The reason code (``Unassigned.reason_code``).
    facts
        The figures behind it (``Unassigned.facts``, plan.json ``reason_facts``).
    drop_point, tranche
        Ids of the delivery.
    language
        One of :data:`LANGUAGES`.

    Returns
    -------
    str
        One or two sentences, numbers and dates formatted for the language's locale; only the
        reason's short label when ``facts`` holds nothing (a plan written before the facts).

    Raises
    ------
    ValueError
        If ``language`` is unknown.
    """
    say = _SENTENCES[parse_language(language)]
    if facts == ReasonFacts() and code is not ReasonCode.SOLVER:
        # A plan written before reasons carried their facts: the label, not a row of "?".
        return f"{reason_label(code, language)}."
    return say(code, _Say(facts, language), drop_point, tranche)
