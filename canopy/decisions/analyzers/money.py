"""Amounts of money in tool payloads, parsed strictly enough to compare to limits.

The package we replace let "1,000.00", "$1e3", NaN and negative amounts slip
past its spending limits. Here an amount either parses to one exact ``Money``
(a non-negative ``Decimal`` in an ISO 4217 currency, at that currency's minor
unit) or raises ``MoneyError``; ambiguous spellings are rejected, never guessed.

Decisions documented here:

* No currency anywhere means USD (``DEFAULT_CURRENCY``). A currency may be marked
  by an ISO code in any case, a symbol (``SYMBOLS``) or an English name from a
  small explicit table (``CURRENCY_NAMES``: "euros", "US dollars", "yen"); an
  unknown code or name is an error, never a guess. Some markers name a family:
  "$" and "dollars" mean USD alone but fit CAD or AUD too, "€" and "euro" only
  EUR. Every marker must fit the currency chosen. A ``currency`` field may hold
  a symbol or name too; alone it means its main currency ("$" is USD).
* Floats are converted through their shortest repr (``str(0.1) == "0.1"``) and
  then held to the currency's minor unit like any other input, so ``0.1 + 0.2``
  (0.30000000000000004) is rejected for USD; there is no separate 1e-9 rule. A
  tolerance would have to pick a rounding, and rounding is a guess: the caller
  knows which cents it meant and can send them as text or minor units.
* Strings may not carry more decimals than the currency has, even trailing zeros:
  "12.500" is twelve thousand five hundred in much of Europe. For the same reason
  "1,000" without a decimal point is rejected for 3-decimal currencies (BHD, KWD).
* A decimal comma is accepted in one shape only: "€12,50", "12,50 EUR", "R$ 10,00"
  (see ``COMMA_DECIMAL_CURRENCIES``). No grouping convention ends in a group of
  two digits, so ",50" cannot be a thousands separator; and the currency marker
  in the same string says the string was written in a convention that uses the
  comma. A bare "12,50" stays rejected even with ``currency: EUR`` (it may be a
  list, "12, 50"), as do "€12,5", "€1.000,50" and every other mix of separators.
* "+" is accepted once; any "-", U+2212 or accounting parentheses mean negative
  and are rejected. Exponents, hexadecimal, NaN, Infinity, leading zeros ("007")
  and non-ASCII digits are rejected.
* ``amount`` is read in major units. Integrations that use minor units under that
  name (Stripe) are over-estimated 100x, which is the safe direction; minor-unit
  fields have their own names (``MINOR_UNIT_KEYS``).
* Amounts in different currencies are never added or compared with each other.
  ``find_amounts`` keeps one total per currency (a USD payment with a EUR fee);
  ``find_money``, which promises a single amount, raises ``MixedCurrencyError``
  for them, carrying those totals so that a caller can ask for approval rather
  than refuse.
* Sums and products are computed in one fixed decimal context and held to
  ``MAX_INTEGER_DIGITS``, so the caller's decimal context cannot round them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from canopy.errors import MalformedInputError

__all__ = [
    "AMOUNT_KEYS",
    "COMMA_DECIMAL_CURRENCIES",
    "CURRENCY_EXPONENTS",
    "CURRENCY_KEYS",
    "CURRENCY_NAMES",
    "DEFAULT_CURRENCY",
    "MINOR_UNIT_KEYS",
    "MixedCurrencyError",
    "Money",
    "MoneyError",
    "find_amounts",
    "find_money",
    "parse_amount",
]


class MoneyError(MalformedInputError):
    """An amount-like value that cannot be read as one exact amount of money."""


#: ISO 4217 list one (2024): a minor-unit exponent, then the codes that have it.
_ISO_4217 = """
0 CLP ISK JPY KRW PYG RWF UGX VND XAF XOF XPF
2 AED ARS AUD BDT BGN BRL CAD CHF CNY COP CRC CZK DKK DOP EGP EUR GBP GEL GHS HKD
2 HUF IDR ILS INR KES KZT LKR MAD MXN MYR NGN NOK NZD PEN PHP PKR PLN QAR RON RSD
2 RUB SAR SEK SGD THB TRY TWD UAH USD UYU ZAR
3 BHD IQD JOD KWD LYD OMR TND
4 CLF
"""


def _exponent_table(table: str) -> dict[str, int]:
    rows = (line.split() for line in table.strip().splitlines())
    return {code: int(row[0]) for row in rows for code in row[1:]}


CURRENCY_EXPONENTS: Mapping[str, int] = _exponent_table(_ISO_4217)
DEFAULT_CURRENCY = "USD"

#: What a currency marker means: the currency it names alone, and the currencies
#: it may stand for when the payload names one ("$" alone is USD, but fits CAD).
Meaning = tuple[str, frozenset[str]]

_DOLLARS = frozenset(
    {"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "TWD", "CLP", "COP", "ARS", "UYU", "DOP"}
)
#: Currency symbols: the currency they mean alone, and the ones they may stand for.
SYMBOLS: Mapping[str, Meaning] = {
    "$": ("USD", _DOLLARS),
    "US$": ("USD", frozenset({"USD"})),
    "C$": ("CAD", frozenset({"CAD"})),
    "A$": ("AUD", frozenset({"AUD"})),
    "NZ$": ("NZD", frozenset({"NZD"})),
    "HK$": ("HKD", frozenset({"HKD"})),
    "S$": ("SGD", frozenset({"SGD"})),
    "R$": ("BRL", frozenset({"BRL"})),
    "€": ("EUR", frozenset({"EUR"})),
    "£": ("GBP", frozenset({"GBP"})),
    "¥": ("JPY", frozenset({"JPY", "CNY"})),
    "₹": ("INR", frozenset({"INR"})),
    "₩": ("KRW", frozenset({"KRW"})),
    "₽": ("RUB", frozenset({"RUB"})),
    "₺": ("TRY", frozenset({"TRY"})),
    "₪": ("ILS", frozenset({"ILS"})),
    "₫": ("VND", frozenset({"VND"})),
    "₱": ("PHP", frozenset({"PHP"})),
}

#: English names of the major currencies, lower case; "(s)" marks a plural in -s.
#: Deliberately short: a name missing here is an error, not a guess.
_NAMES = """
USD us dollar(s); united states dollar(s); american dollar(s)
EUR euro(s)
GBP pound(s) sterling; sterling; british pound(s)
JPY yen; japanese yen
CNY yuan; chinese yuan; renminbi; rmb
CHF swiss franc(s)
CAD canadian dollar(s)
AUD australian dollar(s)
NZD new zealand dollar(s)
HKD hong kong dollar(s)
SGD singapore dollar(s)
INR indian rupee(s)
KRW won; korean won; south korean won
MXN mexican peso(s)
BRL real; reais; brazilian real; brazilian reais
SEK swedish krona; swedish kronor
NOK norwegian krone; norwegian kroner
DKK danish krone; danish kroner
ZAR rand; south african rand
"""
#: Names shared by several currencies behave like "$": a main currency and a family.
_FAMILY_NAMES: Mapping[str, Meaning] = {
    "dollar(s)": ("USD", frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "TWD"})),
    "pound(s)": ("GBP", frozenset({"GBP", "EGP"})),
    "rupee(s)": ("INR", frozenset({"INR", "PKR", "LKR"})),
}


def _spellings(name: str) -> tuple[str, ...]:
    """ "euro(s)" is written "euro" and "euros"; other names only as they are."""
    if "(s)" not in name:
        return (name,)
    return name.replace("(s)", ""), name.replace("(s)", "s")


def _name_table(table: str, families: Mapping[str, Meaning]) -> dict[str, Meaning]:
    names: dict[str, Meaning] = {}
    for line in table.strip().splitlines():
        code, _, listed = line.partition(" ")
        for name in listed.split(";"):
            names.update(dict.fromkeys(_spellings(name.strip()), (code, frozenset({code}))))
    for name, meaning in families.items():
        names.update(dict.fromkeys(_spellings(name), meaning))
    return names


CURRENCY_NAMES: Mapping[str, Meaning] = _name_table(_NAMES, _FAMILY_NAMES)

#: Currencies customarily written with a decimal comma ("12,50 €", "R$ 10,00").
#: Every one has a minor unit of 2, which is what makes ",50" unambiguous.
COMMA_DECIMAL_CURRENCIES = frozenset(
    {"EUR", "BRL", "ARS", "COP", "DKK", "NOK", "SEK", "PLN", "CZK", "HUF", "RON", "BGN", "TRY"}
    | {"RUB", "UAH"}
)

#: Keys read as amounts in major units; also any key starting "amount_" or ending
#: "_amount" (camelCase folded to snake_case). "value" counts only at the top level
#: of a payload and inside an amount object, where it cannot mean something else.
AMOUNT_KEYS = (
    "amount",
    "amount_usd",
    "value",
    "total",
    "price",
    "cost",
    "sum",
    "payment_amount",
    "transfer_amount",
)
#: Keys read as integer counts of the currency's minor unit.
MINOR_UNIT_KEYS = ("amount_cents", "amount_minor", "amount_in_cents", "cents", "minor_units")
CURRENCY_KEYS = ("currency", "currency_code", "ccy")
#: Per-unit keys that a sibling quantity multiplies.
UNIT_PRICE_KEYS = ("price", "unit_price", "unit_amount", "unit_cost")
QUANTITY_KEYS = ("quantity", "qty")

MAX_TEXT_LENGTH = 64
MAX_INTEGER_DIGITS = 24
MAX_DEPTH = 32

#: All arithmetic runs in this context, never the caller's. It has room for
#: MAX_INTEGER_DIGITS and the largest minor unit, so any result that passes the
#: MAX_INTEGER_DIGITS check was computed exactly.
_CONTEXT = Context(prec=MAX_INTEGER_DIGITS + 8)


@dataclass(frozen=True, slots=True)
class Money:
    """A non-negative, finite amount at its currency's minor unit."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if self.currency not in CURRENCY_EXPONENTS:
            raise MoneyError(f"unknown currency code {self.currency!r}")
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise MoneyError(f"amount must be a finite Decimal, got {self.amount!r}")
        if self.amount < 0:
            raise MoneyError(f"negative amount {self.amount}")


class MixedCurrencyError(MoneyError):
    """Amounts in more than one currency, which no single limit can check.

    Not a malformed amount: each one parsed. ``amounts`` holds one total per
    currency (sorted by code) so a caller can ask a human instead of refusing.
    """

    def __init__(self, amounts: Sequence[Money]) -> None:
        self.amounts = tuple(amounts)
        listed = ", ".join(f"{m.amount} {m.currency}" for m in self.amounts)
        super().__init__(f"amounts in different currencies ({listed}) cannot be added up")


# --- currencies ------------------------------------------------------------


_CODE = re.compile(r"[A-Za-z]{3}")


def _meaning(marker: str) -> Meaning:
    """What a currency marker means: a symbol, an ISO code in any case ("usd" is
    what Stripe sends) or a name from ``CURRENCY_NAMES``; anything else is an error."""
    if marker in SYMBOLS:
        return SYMBOLS[marker]
    if _CODE.fullmatch(marker):
        code = marker.upper()
        if code in CURRENCY_EXPONENTS:
            return code, frozenset({code})
    name = " ".join(marker.lower().split()) if marker.isascii() else None
    if name in CURRENCY_NAMES:
        return CURRENCY_NAMES[name]
    if _CODE.fullmatch(marker):
        raise MoneyError(f"unknown currency code {marker.upper()!r}")
    raise MoneyError(f"unknown currency {marker!r} (use an ISO 4217 code)")


def _currency_field(value: object) -> str:
    """The currency a field names on its own; a symbol or a family name alone
    means its main currency ("$" and "dollars" are USD)."""
    if not isinstance(value, str):
        raise MoneyError(f"not a currency code or name: {value!r}")
    return _meaning(value.strip())[0]


def _choose_currency(explicit: str | None, markers: Sequence[str]) -> str:
    """The explicit currency, else the first marker that names one currency, else
    the first marker's main currency; every marker must fit the choice."""
    meanings = [(marker, *_meaning(marker)) for marker in markers]
    specific = (main for _, main, fits in meanings if len(fits) == 1)
    chosen = explicit or next(specific, None)
    if chosen is None:
        chosen = meanings[0][1] if meanings else DEFAULT_CURRENCY
    for marker, _, fits in meanings:
        if chosen not in fits:
            raise MoneyError(f"{marker!r} conflicts with currency {chosen}")
    return chosen


# --- amounts ---------------------------------------------------------------------


def _within_limit(amount: Decimal, what: str) -> Decimal:
    """Refuse amounts too large to be real, and to have been computed exactly."""
    if amount.adjusted() >= MAX_INTEGER_DIGITS:
        raise MoneyError(f"{what} has more than {MAX_INTEGER_DIGITS} integer digits")
    return amount


def _finish(amount: Decimal, currency: str, *, hint: str = "") -> Money:
    """Check sign and size and quantize exactly to the minor unit."""
    if not amount.is_finite():
        raise MoneyError(f"amount is not a finite number: {amount}")
    if amount < 0:
        raise MoneyError(f"negative amount {amount}")
    _within_limit(amount, "amount")
    exponent = CURRENCY_EXPONENTS[currency]
    quantized = amount.copy_abs().quantize(_MINOR_UNITS[exponent], context=_CONTEXT)
    if quantized != amount:
        raise MoneyError(f"{currency} allows {exponent} decimal places, got {amount}{hint}")
    return Money(quantized, currency)


_SYMBOL_ALT = "|".join(re.escape(s) for s in sorted(SYMBOLS, key=len, reverse=True))
#: A currency code or name next to the number: ASCII words, single spaces.
_WORDS = r"[A-Za-z]+(?: [A-Za-z]+)*"
_TEXT = re.compile(
    rf"(?P<plus1>\+)?(?P<pre>{_SYMBOL_ALT}|{_WORDS})?\s?"
    rf"(?P<plus2>\+)?(?P<number>[0-9][0-9,.]*)\s?"
    rf"(?P<post>{_SYMBOL_ALT}|{_WORDS})?"
)
_PLAIN = re.compile(r"(?:0|[1-9][0-9]*)(?:\.([0-9]+))?")
_GROUPED = re.compile(r"[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.([0-9]+))?")
_DECIMAL_COMMA = re.compile(r"(?:0|[1-9][0-9]*),[0-9]{2}")
_NOT_FINITE = frozenset({"nan", "snan", "inf", "infinity"})
_NOT_LETTERS = re.compile(r"[^a-z]")
_EXPONENT = re.compile(r"[0-9][eE][+-]?[0-9]")
_HEX = re.compile(r"0[xX][0-9A-Fa-f]")
_MINOR_UNITS = {e: Decimal(1).scaleb(-e) for e in set(CURRENCY_EXPONENTS.values())}
#: Binary floats print 15 to 17 significant digits when they missed a decimal
#: (0.1 + 0.2 is 0.30000000000000004); such a number gets this explanation.
_FLOAT_NOISE_DIGITS = 15
_FLOAT_HINT = (
    " (binary floating-point error, as in 0.1 + 0.2: round to the minor unit"
    " before sending, or send the amount as text or in minor units)"
)


def _reject_obvious(text: str) -> None:
    """Specific errors for the spellings attackers try first."""
    if not text:
        raise MoneyError("empty amount")
    if len(text) > MAX_TEXT_LENGTH:
        raise MoneyError(f"amount text longer than {MAX_TEXT_LENGTH} characters")
    if _NOT_LETTERS.sub("", text.lower()) in _NOT_FINITE:
        raise MoneyError(f"not a finite number: {text!r}")
    if "-" in text or "\u2212" in text or (text.startswith("(") and text.endswith(")")):
        raise MoneyError(f"negative amount {text!r}")
    if _EXPONENT.search(text):
        raise MoneyError(f"exponent notation is not accepted: {text!r}")
    if _HEX.search(text):
        raise MoneyError(f"hexadecimal is not accepted: {text!r}")


def _decimal_comma(number: str, currency: str, *, marked: bool) -> Decimal | None:
    """ "12,50" as 12.50, only where it cannot be misread (see the module notes):
    two digits after the only comma, and a marker of a comma-decimal currency."""
    if not (marked and currency in COMMA_DECIMAL_CURRENCIES and _DECIMAL_COMMA.fullmatch(number)):
        return None
    return Decimal(number.replace(",", "."))


def _number(number: str, currency: str, text: str, *, marked: bool) -> Decimal:
    """A plain or comma-grouped decimal with at most the currency's decimals."""
    exponent = CURRENCY_EXPONENTS[currency]
    plain, grouped = _PLAIN.fullmatch(number), _GROUPED.fullmatch(number)
    match = plain or grouped
    if match is None:
        with_comma = _decimal_comma(number, currency, marked=marked)
        if with_comma is not None:
            return with_comma
        raise MoneyError(
            f"not an unambiguous decimal (use '1,234.56' or '1234.56'; a decimal comma"
            f" only as in '€12,50' or '12,50 EUR'): {text!r}"
        )
    fraction = match.group(1) or ""
    if grouped and not fraction and exponent >= 3:
        raise MoneyError(f"'{number}' is ambiguous for {currency}: 1000 or 1.000?")
    if len(fraction) > exponent:
        raise MoneyError(f"{currency} allows {exponent} decimal places: {text!r}")
    return Decimal(number.replace(",", ""))


@lru_cache(maxsize=4096)  # pure; agents repeat their amounts. Errors are not cached.
def _parse_text(value: str, explicit: str | None) -> Money:
    text = value.strip()
    _reject_obvious(text)
    match = _TEXT.fullmatch(text)
    if match is None or (match["plus1"] and match["plus2"]):
        raise MoneyError(f"not an amount: {value!r}")
    markers = [m for m in match.group("pre", "post") if m]
    currency = _choose_currency(explicit, markers)
    number = _number(match["number"], currency, value, marked=bool(markers))
    return _finish(number, currency)


def parse_amount(value: object, *, currency: str | None = None) -> Money:
    """One exact amount from an int, Decimal, finite float or text like "$1,250.00"
    or "12.50 euros"; ``currency`` is a code, symbol or name."""
    explicit = _currency_field(currency) if currency is not None else None
    if isinstance(value, bool):
        raise MoneyError("a boolean is not an amount")
    if isinstance(value, str):
        return _parse_text(value, explicit)
    code = explicit or DEFAULT_CURRENCY
    if isinstance(value, int):
        return _finish(Decimal(value), code)
    if isinstance(value, Decimal):
        return _finish(value, code)
    if isinstance(value, float):
        try:
            amount = Decimal(repr(value))
        except InvalidOperation as e:  # pragma: no cover - repr is always valid
            raise MoneyError(f"not an amount: {value!r}") from e
        noisy = len(amount.as_tuple().digits) >= _FLOAT_NOISE_DIGITS
        return _finish(amount, code, hint=_FLOAT_HINT if noisy else "")
    raise MoneyError(f"not an amount: {type(value).__name__}")


def _minor_units(value: object, currency: str | None, path: str) -> Money:
    """An integer count of cents (or the currency's minor unit)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise MoneyError(f"{path}: minor units must be an integer, got {value!r}")
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{1,30}", value.strip()):
        raise MoneyError(f"{path}: minor units must be digits, got {value!r}")
    count = int(value)
    code = currency or DEFAULT_CURRENCY
    try:
        return _finish(Decimal(count).scaleb(-CURRENCY_EXPONENTS[code], _CONTEXT), code)
    except MoneyError as e:
        raise MoneyError(f"{path}: {e}") from e


# --- payloads --------------------------------------------------------------------

#: Amounts found so far, one total per currency code; empty when none.
_Totals = dict[str, Money]


@lru_cache(maxsize=4096)
def _snake(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


@dataclass(frozen=True, slots=True)
class _KeyKind:
    minor: bool
    currency: str | None = None  # forced by the key name (amount_usd)
    unit_price: bool = False


@lru_cache(maxsize=8192)
def _key_kind(key: str, value_is_amount: bool) -> _KeyKind | None:
    k = _snake(key)
    if k in MINOR_UNIT_KEYS:
        return _KeyKind(minor=True)
    if k == "value":
        return _KeyKind(minor=False) if value_is_amount else None
    suffix = re.fullmatch(r"amount_([a-z]{3})", k)
    if suffix and suffix.group(1).upper() in CURRENCY_EXPONENTS:
        return _KeyKind(minor=False, currency=suffix.group(1).upper())
    if k in AMOUNT_KEYS or k in UNIT_PRICE_KEYS or k.startswith("amount_") or k.endswith("_amount"):
        return _KeyKind(minor=False, unit_price=k in UNIT_PRICE_KEYS)
    return None


def _own_currency(mapping: Mapping[str, Any], path: str) -> str | None:
    found = {
        _currency_field(v)
        for k, v in mapping.items()
        if isinstance(k, str) and _snake(k) in CURRENCY_KEYS and v is not None
    }
    if len(found) > 1:
        raise MoneyError(f"{path}: conflicting currencies {sorted(found)}")
    return next(iter(found), None)


def _quantity(mapping: Mapping[str, Any], path: str) -> int:
    for key, value in mapping.items():
        if isinstance(key, str) and _snake(key) in QUANTITY_KEYS:
            text = value.strip() if isinstance(value, str) else None
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
            if text is not None and re.fullmatch(r"[0-9]{1,12}", text):
                return int(text)
            raise MoneyError(f"{path}.{key}: quantity must be a non-negative integer")
    return 1


def _merge(parts: Iterable[Mapping[str, Money]], path: str, *, add: bool) -> _Totals:
    """Per currency, the sum (items of a batch) or the largest (alternative fields
    of one object). Currencies are kept apart: there is no rate to convert at."""
    merged: _Totals = {}
    for part in parts:
        for code, money in part.items():
            held = merged.get(code)
            if held is None:
                merged[code] = money
            elif add:
                total = _within_limit(_CONTEXT.add(held.amount, money.amount), f"{path}: sum")
                merged[code] = Money(total, code)
            elif money.amount > held.amount:
                merged[code] = money
    return merged


def _times(totals: Mapping[str, Money], quantity: int, path: str) -> _Totals:
    """A unit price times its quantity, exactly."""
    factor, what = Decimal(quantity), f"{path}: price x quantity"
    return {
        code: Money(_within_limit(_CONTEXT.multiply(money.amount, factor), what), code)
        for code, money in totals.items()
    }


def _amount_field(value: Any, currency: str | None, path: str, depth: int) -> _Totals:
    """The value of an amount key: a scalar, an amount object, or a list of those."""
    if isinstance(value, Mapping):
        inner = _scan_mapping(value, currency, path, depth + 1, amount_object=True)
        if not inner:
            raise MoneyError(f"{path}: amount object without an amount")
        return inner
    if isinstance(value, list | tuple):
        parts = [_amount_field(v, currency, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
        if not parts:
            raise MoneyError(f"{path}: empty list of amounts")
        return _merge(parts, path, add=True)
    try:
        money = parse_amount(value, currency=currency)
    except MoneyError as e:
        raise MoneyError(f"{path}: {e}") from e
    return {money.currency: money}


def _scan_list(items: Sequence[Any], currency: str | None, path: str, depth: int) -> _Totals:
    """Amounts found in a list add up: a batch moves its sum."""
    parts = (_scan_any(item, currency, f"{path}[{i}]", depth + 1) for i, item in enumerate(items))
    return _merge(parts, path, add=True)


def _scan_any(value: Any, currency: str | None, path: str, depth: int) -> _Totals:
    if type(value) is str:
        return {}  # the common leaf, decided without the (slow) Mapping check
    if isinstance(value, Mapping):
        return _scan_mapping(value, currency, path, depth + 1, amount_object=False)
    if isinstance(value, list | tuple):
        return _scan_list(value, currency, path, depth)
    return {}


def _scan_mapping(
    mapping: Mapping[str, Any],
    inherited: str | None,
    path: str,
    depth: int,
    *,
    amount_object: bool,
) -> _Totals:
    """Amounts of one object: alternative fields (amount, total) give the largest."""
    if depth > MAX_DEPTH:
        raise MoneyError(f"{path}: nested deeper than {MAX_DEPTH} levels")
    currency = _own_currency(mapping, path) or inherited
    parts: list[_Totals] = []
    for key, value in mapping.items():
        if not isinstance(key, str):
            continue
        kind = _key_kind(key, depth == 0 or amount_object)
        if kind is None and type(value) is str:
            continue  # text under a key that names no amount: nothing to find
        sub = f"{path}.{key}"
        if kind is None:
            parts.append(_scan_any(value, currency, sub, depth))
        elif kind.minor:
            money = _minor_units(value, currency, sub)
            parts.append({money.currency: money})
        else:
            totals = _amount_field(value, kind.currency or currency, sub, depth)
            if kind.unit_price:
                totals = _times(totals, _quantity(mapping, path), sub)
            parts.append(totals)
    return _merge(parts, path, add=False)


def find_amounts(payload: Mapping[str, Any]) -> tuple[Money, ...]:
    """What a payload would move in each currency, sorted by code; () if nothing.

    Walks nested objects and lists: alternative amount fields of one object give
    the largest, items of a list add up, a quantity multiplies a unit price, and
    currencies are inherited downwards. Each currency keeps its own total: more
    than one Money means the payload mixes currencies (a USD payment with a EUR
    fee), which one limit in one currency cannot check.
    """
    if not isinstance(payload, Mapping):
        raise MoneyError(f"payload must be a mapping, got {type(payload).__name__}")
    totals = _scan_mapping(payload, None, "$", 0, amount_object=False)
    return tuple(totals[code] for code in sorted(totals))


def find_money(payload: Mapping[str, Any]) -> Money | None:
    """The amount a payload would move, or None if it names none.

    As ``find_amounts``, for callers that compare with one limit: amounts in
    several currencies raise ``MixedCurrencyError`` (a ``MoneyError``) carrying
    the total in each.
    """
    amounts = find_amounts(payload)
    if len(amounts) > 1:
        raise MixedCurrencyError(amounts)
    return amounts[0] if amounts else None
