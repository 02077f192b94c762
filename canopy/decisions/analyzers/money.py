"""Amounts of money in tool payloads, parsed strictly enough to compare to limits.

The package we replace let "1,000.00", "$1e3", NaN and negative amounts slip
past its spending limits. Here an amount either parses to one exact ``Money``
(a non-negative ``Decimal`` in an ISO 4217 currency, at that currency's minor
unit) or raises ``MoneyError``; ambiguous spellings are rejected, never guessed.

Decisions documented here:

* No currency anywhere means USD (``DEFAULT_CURRENCY``). A symbol must agree with
  an explicit currency: "$" fits any dollar/peso currency, "€" only EUR.
* Floats are converted through their shortest repr (``str(0.1) == "0.1"``) and
  then held to the currency's minor unit like any other input, so ``0.1 + 0.2``
  (0.30000000000000004) is rejected for USD; there is no separate 1e-9 rule.
* Strings may not carry more decimals than the currency has, even trailing zeros:
  "12.500" is twelve thousand five hundred in much of Europe. For the same reason
  "1,000" without a decimal point is rejected for 3-decimal currencies (BHD, KWD),
  and decimal commas ("12,50", "1.000,50") are always rejected.
* "+" is accepted once; any "-", U+2212 or accounting parentheses mean negative
  and are rejected. Exponents, NaN, Infinity, leading zeros ("007") and non-ASCII
  digits are rejected.
* ``amount`` is read in major units. Integrations that use minor units under that
  name (Stripe) are over-estimated 100x, which is the safe direction; minor-unit
  fields have their own names (``MINOR_UNIT_KEYS``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from canopy.errors import MalformedInputError

__all__ = [
    "AMOUNT_KEYS",
    "CURRENCY_EXPONENTS",
    "CURRENCY_KEYS",
    "DEFAULT_CURRENCY",
    "MINOR_UNIT_KEYS",
    "Money",
    "MoneyError",
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

_DOLLARS = frozenset(
    {"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "TWD", "CLP", "COP", "ARS", "UYU", "DOP"}
)
#: Currency symbols: the currency they mean alone, and the ones they may stand for.
SYMBOLS: Mapping[str, tuple[str, frozenset[str]]] = {
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


# --- currencies ------------------------------------------------------------


_CODE = re.compile(r"[A-Za-z]{3}")


def _currency_code(value: object) -> str:
    """An ISO 4217 code in any case ("usd" is what Stripe sends)."""
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise MoneyError(f"not a currency code: {value!r}")
    code = value.upper()
    if code not in CURRENCY_EXPONENTS:
        raise MoneyError(f"unknown currency code {code!r}")
    return code


def _choose_currency(explicit: str | None, markers: Sequence[str]) -> str:
    """The explicit currency, else the first code, else the first symbol's; every
    marker must be compatible with the choice."""
    codes = [_currency_code(m) for m in markers if m not in SYMBOLS]
    symbols = [m for m in markers if m in SYMBOLS]
    chosen = explicit or next(iter(codes), None)
    if chosen is None:
        chosen = SYMBOLS[symbols[0]][0] if symbols else DEFAULT_CURRENCY
    for code in codes:
        if code != chosen:
            raise MoneyError(f"currency {code} conflicts with {chosen}")
    for symbol in symbols:
        if chosen not in SYMBOLS[symbol][1]:
            raise MoneyError(f"symbol {symbol!r} conflicts with currency {chosen}")
    return chosen


# --- amounts ---------------------------------------------------------------------


def _finish(amount: Decimal, currency: str) -> Money:
    """Check sign and size and quantize exactly to the minor unit."""
    if not amount.is_finite():
        raise MoneyError(f"amount is not a finite number: {amount}")
    if amount < 0:
        raise MoneyError(f"negative amount {amount}")
    if amount.adjusted() >= MAX_INTEGER_DIGITS:
        raise MoneyError(f"amount has more than {MAX_INTEGER_DIGITS} integer digits")
    exponent = CURRENCY_EXPONENTS[currency]
    quantized = amount.copy_abs().quantize(_MINOR_UNITS[exponent], context=_QUANTIZE_CONTEXT)
    if quantized != amount:
        raise MoneyError(f"{currency} allows {exponent} decimal places, got {amount}")
    return Money(quantized, currency)


_SYMBOL_ALT = "|".join(re.escape(s) for s in sorted(SYMBOLS, key=len, reverse=True))
_TEXT = re.compile(
    rf"(?P<plus1>\+)?(?:(?P<pre>{_SYMBOL_ALT})|(?P<pre_code>[A-Za-z]{{3}}))?\s?"
    rf"(?P<plus2>\+)?(?P<number>[0-9][0-9,.]*)\s?"
    rf"(?:(?P<post>{_SYMBOL_ALT})|(?P<post_code>[A-Za-z]{{3}}))?"
)
_PLAIN = re.compile(r"(?:0|[1-9][0-9]*)(?:\.([0-9]+))?")
_GROUPED = re.compile(r"[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.([0-9]+))?")
_NOT_FINITE = frozenset({"nan", "snan", "inf", "infinity"})
_NOT_LETTERS = re.compile(r"[^a-z]")
_EXPONENT = re.compile(r"[0-9][eE][+-]?[0-9]")
#: Quantizing needs room for MAX_INTEGER_DIGITS and the largest minor unit; one
#: fixed context, so the caller's decimal context (precision, traps) plays no part.
_QUANTIZE_CONTEXT = Context(prec=MAX_INTEGER_DIGITS + 8)
_MINOR_UNITS = {e: Decimal(1).scaleb(-e) for e in set(CURRENCY_EXPONENTS.values())}


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


def _number(number: str, currency: str, text: str) -> Decimal:
    """A plain or comma-grouped decimal with at most the currency's decimals."""
    exponent = CURRENCY_EXPONENTS[currency]
    plain, grouped = _PLAIN.fullmatch(number), _GROUPED.fullmatch(number)
    match = plain or grouped
    if match is None:
        raise MoneyError(f"not an unambiguous decimal (use '1,234.56' or '1234.56'): {text!r}")
    fraction = match.group(1) or ""
    if grouped and not fraction and exponent >= 3:
        raise MoneyError(f"'{number}' is ambiguous for {currency}: 1000 or 1.000?")
    if len(fraction) > exponent:
        raise MoneyError(f"{currency} allows {exponent} decimal places: {text!r}")
    return Decimal(number.replace(",", ""))


def _parse_text(value: str, explicit: str | None) -> Money:
    text = value.strip()
    _reject_obvious(text)
    match = _TEXT.fullmatch(text)
    if match is None or (match["plus1"] and match["plus2"]):
        raise MoneyError(f"not an amount: {value!r}")
    markers = [m for m in match.group("pre", "pre_code", "post", "post_code") if m]
    currency = _choose_currency(explicit, markers)
    return _finish(_number(match["number"], currency, value), currency)


def parse_amount(value: object, *, currency: str | None = None) -> Money:
    """One exact amount from an int, Decimal, finite float or text like "$1,250.00"."""
    explicit = _currency_code(currency) if currency is not None else None
    if isinstance(value, bool):
        raise MoneyError("a boolean is not an amount")
    if isinstance(value, str):
        return _parse_text(value, explicit)
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, float):
        try:
            amount = Decimal(repr(value))
        except InvalidOperation as e:  # pragma: no cover - repr is always valid
            raise MoneyError(f"not an amount: {value!r}") from e
    else:
        raise MoneyError(f"not an amount: {type(value).__name__}")
    return _finish(amount, explicit or DEFAULT_CURRENCY)


def _minor_units(value: object, currency: str | None, path: str) -> Money:
    """An integer count of cents (or the currency's minor unit)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise MoneyError(f"{path}: minor units must be an integer, got {value!r}")
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{1,30}", value.strip()):
        raise MoneyError(f"{path}: minor units must be digits, got {value!r}")
    count = int(value)
    code = currency or DEFAULT_CURRENCY
    try:
        return _finish(Decimal(count).scaleb(-CURRENCY_EXPONENTS[code]), code)
    except MoneyError as e:
        raise MoneyError(f"{path}: {e}") from e


# --- payloads --------------------------------------------------------------------


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
        _currency_code(v)
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


def _combine(found: list[Money], path: str, *, add: bool) -> Money | None:
    """Sum (a batch) or the largest (alternative fields) of same-currency amounts."""
    if not found:
        return None
    if len(found) == 1 and not add:
        return found[0]  # the largest of one amount is that amount
    currencies = sorted({m.currency for m in found})
    if len(currencies) > 1:
        raise MoneyError(f"{path}: amounts in different currencies {currencies}")
    amounts = [m.amount for m in found]
    return Money(sum(amounts, Decimal(0)) if add else max(amounts), currencies[0])


def _amount_field(value: Any, currency: str | None, path: str, depth: int) -> Money:
    """The value of an amount key: a scalar, an amount object, or a list of those."""
    if isinstance(value, Mapping):
        inner = _scan_mapping(value, currency, path, depth + 1, amount_object=True)
        if inner is None:
            raise MoneyError(f"{path}: amount object without an amount")
        return inner
    if isinstance(value, list | tuple):
        parts = [_amount_field(v, currency, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
        total = _combine(parts, path, add=True)
        if total is None:
            raise MoneyError(f"{path}: empty list of amounts")
        return total
    try:
        return parse_amount(value, currency=currency)
    except MoneyError as e:
        raise MoneyError(f"{path}: {e}") from e


def _scan_list(items: Sequence[Any], currency: str | None, path: str, depth: int) -> Money | None:
    """Amounts found in a list add up: a batch moves its sum."""
    found = [
        m
        for i, item in enumerate(items)
        if (m := _scan_any(item, currency, f"{path}[{i}]", depth + 1)) is not None
    ]
    return _combine(found, path, add=True)


def _scan_any(value: Any, currency: str | None, path: str, depth: int) -> Money | None:
    if type(value) is str:
        return None  # the common leaf, decided without the (slow) Mapping check
    if isinstance(value, Mapping):
        return _scan_mapping(value, currency, path, depth + 1, amount_object=False)
    if isinstance(value, list | tuple):
        return _scan_list(value, currency, path, depth)
    return None


def _scan_mapping(
    mapping: Mapping[str, Any],
    inherited: str | None,
    path: str,
    depth: int,
    *,
    amount_object: bool,
) -> Money | None:
    """Amounts of one object: alternative fields (amount, total) give the largest."""
    if depth > MAX_DEPTH:
        raise MoneyError(f"{path}: nested deeper than {MAX_DEPTH} levels")
    currency = _own_currency(mapping, path) or inherited
    found: list[Money] = []
    for key, value in mapping.items():
        if not isinstance(key, str):
            continue
        kind = _key_kind(key, depth == 0 or amount_object)
        if kind is None and type(value) is str:
            continue  # text under a key that names no amount: nothing to find
        sub = f"{path}.{key}"
        if kind is None:
            nested = _scan_any(value, currency, sub, depth)
            if nested is not None:
                found.append(nested)
        elif kind.minor:
            found.append(_minor_units(value, currency, sub))
        else:
            money = _amount_field(value, kind.currency or currency, sub, depth)
            if kind.unit_price:
                money = Money(money.amount * _quantity(mapping, path), money.currency)
            found.append(money)
    return _combine(found, path, add=False)


def find_money(payload: Mapping[str, Any]) -> Money | None:
    """The amount a payload would move, or None if it names none.

    Walks nested objects and lists: alternative amount fields of one object give
    the largest, items of a list add up, a quantity multiplies a unit price, and
    currencies are inherited downwards. Mixed currencies raise ``MoneyError``.
    """
    if not isinstance(payload, Mapping):
        raise MoneyError(f"payload must be a mapping, got {type(payload).__name__}")
    return _scan_mapping(payload, None, "$", 0, amount_object=False)
