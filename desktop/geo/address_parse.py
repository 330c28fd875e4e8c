"""Street-name normalisation and address parsing for the geocoder (``desktop/geo/geocoder.py``)
and the index derivation (``desktop/geo/address_derive.py``). Pure Python plus ``usaddress``.

Contracts:

- :func:`street_key` maps every spelling of a street to one key: upper case, punctuation
  dropped, type suffixes to one form (AV/AVE/AVENUE -> AVE, BL/BOULEVARD -> BLVD, WY -> WAY,
  TR/TERRACE -> TER, ...), directions to one letter (NORTH/NOR -> N, SOUTH/SOU -> S), SAINT ->
  ST, numbered streets without zero padding (03RD/3RD/THIRD -> 3RD, TWENTY FOURTH -> 24TH).
  The same key for DataSF's "03RD ST", TIGER's "3rd St", SFFD's "3RD ST" and a caller's "third
  street". Keys are what the index matches on; the names shown stay DataSF's.
- :func:`parse` reads what a call-taker or a feed writes: "1234 Mission St Apt 5, San Francisco,
  CA 94110", "0 Block of BALCETA AVE", "MISSION ST/24TH ST", "Mission & 24th", "Mission and
  24th", "Mission at 24th", "401-A JUDAH ST", "3735-3739 SACRAMENTO ST". A unit ("Apt 5", "#3",
  the "A" of "401-A") is dropped from matching and kept in :attr:`ParsedAddress.unit`; city,
  state and zip tails are dropped. Free text goes through ``usaddress``; the forms above are
  read first by our own rules, which are exact where ``usaddress`` guesses.
- :func:`parse_partial` reads an address as it is being typed ("12", "1200 MA", "MISSION/2"),
  without ``usaddress`` (fast, and tolerant of half words).
- :class:`FuzzyNames` finds the keys nearest a misspelt one (``difflib`` ratio over a trigram
  prefilter; no extra dependency).
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DIRECTIONS",
    "SUFFIXES",
    "SURE_RATIO",
    "FuzzyNames",
    "ParsedAddress",
    "PartialAddress",
    "display_names",
    "parse",
    "parse_partial",
    "street_bare",
    "street_base",
    "street_key",
]

#: Spellings of street types and the one form keys use (DataSF's).
SUFFIXES: dict[str, str] = {
    **{s: "AVE" for s in ("AV", "AVE", "AVENUE", "AVN", "AVNUE")},
    **{s: "BLVD" for s in ("BL", "BLV", "BLVD", "BOULEVARD", "BOUL")},
    **{s: "ST" for s in ("ST", "STR", "STREET")},
    **{s: "WAY" for s in ("WY", "WAY")},
    **{s: "TER" for s in ("TER", "TR", "TERR", "TERRACE")},
    **{s: "PL" for s in ("PL", "PLACE")},
    **{s: "CT" for s in ("CT", "CRT", "COURT")},
    **{s: "DR" for s in ("DR", "DRV", "DRIVE")},
    **{s: "LN" for s in ("LN", "LANE")},
    **{s: "RD" for s in ("RD", "ROAD")},
    **{s: "HWY" for s in ("HWY", "HY", "HIGHWAY")},
    **{s: "ALY" for s in ("ALY", "AL", "ALLEY")},
    **{s: "CIR" for s in ("CIR", "CIRCLE")},
    **{s: "PLZ" for s in ("PLZ", "PLAZA")},
    **{s: "TUNL" for s in ("TUNL", "TUNNEL")},
    **{s: "STWY" for s in ("STWY", "STAIRWAY")},
    **{s: "STPS" for s in ("STPS", "STEPS")},
    **{s: "PKWY" for s in ("PKWY", "PARKWAY")},
    **{s: "FWY" for s in ("FWY", "FREEWAY")},
    **{s: "EXPY" for s in ("EXPY", "EXPRESSWAY")},
    **{s: "RAMP" for s in ("RAMP", "RMP")},
    **{s: "BRG" for s in ("BRG", "BRIDGE")},
    **{s: "SQ" for s in ("SQ", "SQUARE")},
    **{s: "TRL" for s in ("TRL", "TRAIL")},
    **{s: s for s in ("LOOP", "WALK", "PATH", "ROW", "MALL")},
}
#: Direction words and their one-letter form.
DIRECTIONS: dict[str, str] = {
    **{s: "N" for s in ("N", "NORTH", "NOR", "NO", "NB", "NORTHBOUND")},
    **{s: "S" for s in ("S", "SOUTH", "SOU", "SO", "SB", "SOUTHBOUND")},
    **{s: "E" for s in ("E", "EAST", "EB", "EASTBOUND")},
    **{s: "W" for s in ("W", "WEST", "WB", "WESTBOUND")},
}
_ONE_LETTER = frozenset(DIRECTIONS.values())
_OTHER_WORDS = {"SAINT": "ST", "STE": "ST", "HEIGHTS": "HTS", "DOCTOR": "DR", "MOUNT": "MT"}
_UNITS_WORDS = [
    "FIRST",
    "SECOND",
    "THIRD",
    "FOURTH",
    "FIFTH",
    "SIXTH",
    "SEVENTH",
    "EIGHTH",
    "NINTH",
    "TENTH",
    "ELEVENTH",
    "TWELFTH",
    "THIRTEENTH",
    "FOURTEENTH",
    "FIFTEENTH",
    "SIXTEENTH",
    "SEVENTEENTH",
    "EIGHTEENTH",
    "NINETEENTH",
]
_TENS_WORDS = {"TWENTY": 20, "THIRTY": 30, "FORTY": 40, "FOURTY": 40}
_TENS_ORDINALS = {"TWENTIETH": 20, "THIRTIETH": 30, "FORTIETH": 40}
_ORDINAL_WORDS: dict[str, int] = {
    **{w: i + 1 for i, w in enumerate(_UNITS_WORDS)},
    **_TENS_ORDINALS,
}
#: A fuzzy match this close may differ in its first letter.
SURE_RATIO = 0.9
_ORDINAL = re.compile(r"^0*(\d+)(ST|ND|RD|TH|D)$")
_PUNCT = re.compile(r"[.,'`\u2019\"()]")
_SPACE = re.compile(r"[\s\-_]+")


def _ordinal(n: int) -> str:
    """1 -> "1ST", 2 -> "2ND", 13 -> "13TH", 24 -> "24TH"."""
    if 10 <= n % 100 <= 20:
        return f"{n}TH"
    return f"{n}{ {1: 'ST', 2: 'ND', 3: 'RD'}.get(n % 10, 'TH') }"


def _tokens(text: str) -> list[str]:
    return [t for t in _SPACE.split(_PUNCT.sub("", text.upper()).replace("/", " ")) if t]


def street_key(name: str) -> str:
    """The matching key of a street name (see the module docstring); "" for no name."""
    words = _tokens(name)
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        ordinal = _ORDINAL.match(word)
        if ordinal:
            word = _ordinal(int(ordinal[1]))
        elif word.isdigit() and nxt in ("ST", "ND", "RD", "TH") and i + 2 < len(words):
            word, i = _ordinal(int(word)), i + 1  # "24 TH ST"
        elif word in _TENS_WORDS and nxt in _ORDINAL_WORDS and _ORDINAL_WORDS[nxt] < 10:
            word, i = _ordinal(_TENS_WORDS[word] + _ORDINAL_WORDS[nxt]), i + 1
        elif word in _ORDINAL_WORDS:
            word = _ordinal(_ORDINAL_WORDS[word])
        else:
            word = SUFFIXES.get(word) or DIRECTIONS.get(word) or _OTHER_WORDS.get(word, word)
        out.append(word)
        i += 1
    # A direction written before the type ("LAKE MERCED HILL SOU ST") goes after it, the way
    # DataSF writes it ("LAKE MERCED HILL ST SOUTH").
    if len(out) >= 3 and out[-1] in SUFFIXES.values() and out[-2] in DIRECTIONS.values():
        out[-2], out[-1] = out[-1], out[-2]
    return " ".join(out)


def street_base(key: str) -> str:
    """A key without its type and trailing direction: "MISSION ST" -> "MISSION", "BUENA VISTA
    AVE E" -> "BUENA VISTA". A key that is nothing but a type ("AVE B" stays) keeps it."""
    words = key.split()
    if len(words) >= 3 and words[-1] in DIRECTIONS.values() and words[-2] in SUFFIXES.values():
        words = words[:-2]
    elif len(words) >= 2 and words[-1] in SUFFIXES.values():
        words = words[:-1]
    return " ".join(words)


def street_bare(key: str) -> str:
    """A key without a trailing direction: "BUENA VISTA AVE E" -> "BUENA VISTA AVE", "THE
    EMBARCADERO N" -> "THE EMBARCADERO"."""
    words = key.split()
    return " ".join(words[:-1]) if len(words) > 1 and words[-1] in _ONE_LETTER else key


def display_names(names: list[str]) -> list[str]:
    """DataSF's street names as shown: upper case, single spaces, numbered streets without
    zero padding ("03RD ST" -> "3RD ST")."""
    text = "\n".join(" ".join(n.upper().split()) for n in names)
    return re.sub(r"\b0+(?=\d)", "", text).split("\n") if names else []


# --- parsing --------------------------------------------------------------------------------

Kind = Literal["address", "block", "intersection", "street", "empty"]


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """What :func:`parse` read. ``street``/``cross`` are as written (match them through
    :func:`street_key`); ``number`` the house number (the first of a range "3735-3739"), or the
    hundred of a block form; ``unit`` what was dropped from matching ("APT 5", "A")."""

    kind: Kind
    street: str = ""
    number: int | None = None
    cross: str = ""
    unit: str = ""


_BLOCK = re.compile(r"^\s*(\d+)\s+BLOCK\s+(?:OF\s+)?(.+)$", re.IGNORECASE)
_NUMBER = re.compile(r"^\s*(\d+)(?:\s*-\s*(\d+|[A-Z]))?([A-Z]?)\s+(.+)$", re.IGNORECASE)
_JOIN = re.compile(r"\s*(?:/|&|@|\bAND\b|\bAT\b)\s*", re.IGNORECASE)
_BLK = re.compile(r"^(?:BLK|BLOCK)\s+", re.IGNORECASE)
_HALF = re.compile(r"^\s*(\d+)\s+1/2\s+(.+)$")
_LEADING_NUMBER = re.compile(r"^\d+[A-Z]?\s+(?=\D)", re.IGNORECASE)
_TAIL = re.compile(
    r",\s*[^,/&]*$|\s+(?:SAN\s+FRANCISCO|SF)(?:\s+CA(?:LIFORNIA)?)?(?:\s+\d{5}(?:-\d{4})?)?\s*$"
    r"|\s+CA(?:LIFORNIA)?(?:\s+\d{5}(?:-\d{4})?)?\s*$|\s+\d{5}(?:-\d{4})?\s*$",
    re.IGNORECASE,
)
_UNIT = re.compile(
    r"\s+(?:#\s*|(?:APT|APARTMENT|UNIT|STE|SUITE|RM|ROOM|FL|FLOOR|BLDG|SPC)\.?\s+#?)([\w-]+)\s*$",
    re.IGNORECASE,
)
_USADDRESS_STREET = (
    "StreetNamePreModifier",
    "StreetNamePreDirectional",
    "StreetNamePreType",
    "StreetName",
    "StreetNamePostType",
    "StreetNamePostDirectional",
)


def _strip_tail(text: str) -> str:
    """Drop city, state and zip tails, repeatedly ("..., San Francisco, CA 94110")."""
    while True:
        shorter = _TAIL.sub("", text).strip()
        if shorter == text or not shorter:
            return text
        text = shorter


def parse(text: str) -> ParsedAddress:
    """Read one address line (see the module docstring). Never raises: text that is no address
    comes back as a ``street`` with the text itself, to be matched (and not found)."""
    line = " ".join(text.split())
    if not line:
        return ParsedAddress("empty")
    block = _BLOCK.match(line)
    if block:
        street = _BLK.sub("", _strip_tail(block[2]))  # "0 Block of BLK 5TH ST"
        return ParsedAddress("block", street, int(block[1]))
    unit = ""
    half = _HALF.match(line)  # "267 1/2 27TH ST"
    if half:
        unit, line = "1/2", f"{half[1]} {half[2]}"
    parts = [p for p in _JOIN.split(line) if p.strip()]
    if len(parts) == 2 and not any(p.strip().isdigit() for p in parts):
        first, second = (_strip_tail(p.strip()) for p in parts)
        return ParsedAddress("intersection", _LEADING_NUMBER.sub("", first), cross=second)
    line = _strip_tail(line)
    found = _UNIT.search(line)
    if found:
        unit, line = found[1].upper(), line[: found.start()]
    number = _NUMBER.match(line)
    if number:
        letter = (number[3] or (number[2] if number[2] and not number[2].isdigit() else "")) or ""
        street = _street_by_usaddress(f"{number[1]} {number[4]}") or number[4]
        return ParsedAddress("address", street.strip(), int(number[1]), unit=unit or letter.upper())
    return ParsedAddress("street", line.strip(), unit=unit)


def _street_by_usaddress(line: str) -> str:
    """The street part of ``line`` as ``usaddress`` tags it ("" when it cannot tell)."""
    import usaddress  # 40 ms to import: only when free text needs it

    try:
        tagged, _ = usaddress.tag(line)
    except usaddress.RepeatedLabelError:
        return ""
    return " ".join(tagged[label] for label in _USADDRESS_STREET if label in tagged)


@dataclass(frozen=True, slots=True)
class PartialAddress:
    """An address being typed: ``number`` if it starts with one, the ``street`` typed so far
    (a key prefix), and after a "/" or "&" the ``cross`` prefix (``cross`` is None without)."""

    number: int | None
    street: str
    cross: str | None


_PARTIAL_NUMBER = re.compile(r"^\s*(\d+)(?:-\w*)?(?:\s+(.*))?$")


def parse_partial(text: str) -> PartialAddress:
    """Read a prefix as it is typed (see :class:`PartialAddress`). A trailing word is kept as
    typed ("MA" stays a prefix); complete words are normalised as :func:`street_key` does."""
    line = " ".join(text.split()) + (" " if text[-1:].isspace() and text.strip() else "")
    block = _BLOCK.match(line)
    if block:
        return PartialAddress(int(block[1]), _partial_key(block[2]), None)
    if re.search(r"[/&@]|\s(?:AND|AT)\s", line, re.IGNORECASE):
        first, second = [*_JOIN.split(line, maxsplit=1), ""][:2]
        first = _LEADING_NUMBER.sub("", first)
        return PartialAddress(None, _partial_key(first), _partial_key(second))
    number = _PARTIAL_NUMBER.match(line)
    if number:
        return PartialAddress(int(number[1]), _partial_key(number[2] or ""), None)
    return PartialAddress(None, _partial_key(line), None)


def _partial_key(text: str) -> str:
    """:func:`street_key` of the complete words, the last word as typed when not complete."""
    if not text.strip():
        return ""
    if text[-1].isspace():
        return street_key(text) + " "
    head, _, last = text.strip().rpartition(" ")
    last_word = "".join(_tokens(last))
    if last_word in _ORDINAL_WORDS:  # a whole number word: "THIRD" is 3RD already
        last_word = _ordinal(_ORDINAL_WORDS[last_word])
    if head:
        return f"{street_key(head)} {last_word}".strip()
    return last_word


# --- fuzzy names ----------------------------------------------------------------------------


def _trigrams(key: str) -> set[str]:
    padded = f"  {key} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _signature(key: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What a misspelling cannot change: the numbers and the directions of a key."""
    words = key.split()
    numbers = tuple(re.sub(r"\D", "", w) for w in words if any(c.isdigit() for c in w))
    return numbers, tuple(w for w in words if w in _ONE_LETTER)


class FuzzyNames:
    """Nearest keys to a misspelt one: a trigram prefilter keeps the ``prefilter`` keys that
    share the most trigrams, then ``difflib``'s ratio ranks them. A match keeps the query's
    numbers and directions ("3RD ST" is never "23RD ST", "HWY 101 S" never "HWY 101 N") and
    its first letter unless the ratio is :data:`SURE_RATIO` or more. Immutable."""

    def __init__(self, keys: Iterable[str], prefilter: int = 40) -> None:
        self._keys = sorted(set(keys))
        self._prefilter = prefilter
        index: defaultdict[str, list[int]] = defaultdict(list)
        for i, key in enumerate(self._keys):
            for gram in _trigrams(key):
                index[gram].append(i)
        self._index = dict(index)

    def match(self, key: str, limit: int = 5, cutoff: float = 0.75) -> list[tuple[str, float]]:
        """Up to ``limit`` (key, ratio) pairs with ratio >= ``cutoff``, best first (ties by key)."""
        shared: defaultdict[int, int] = defaultdict(int)
        for gram in _trigrams(key):
            for i in self._index.get(gram, ()):
                shared[i] += 1
        if not shared:
            return []
        best = sorted(shared, key=lambda i: (-shared[i], i))[: self._prefilter]
        matcher = difflib.SequenceMatcher(b=key, autojunk=False)
        signature = _signature(key)
        scored = []
        for i in best:
            other = self._keys[i]
            if _signature(other) != signature:
                continue
            matcher.set_seq1(other)
            ratio = matcher.ratio()
            if ratio >= cutoff and (ratio >= SURE_RATIO or other[:1] == key[:1]):
                scored.append((other, round(ratio, 4)))
        scored.sort(key=lambda pair: (-pair[1], pair[0]))
        return scored[:limit]
