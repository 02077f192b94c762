"""canopy.decisions.analyzers.money: strict amounts and amounts found in payloads.

A table of valid and invalid inputs (each invalid one must raise MoneyError, a
MalformedInputError), payload walking, and a hypothesis round trip through the
spellings people write.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canopy import authorize_action
from canopy.decisions.analyzers.money import (
    AMOUNT_KEYS,
    COMMA_DECIMAL_CURRENCIES,
    CURRENCY_EXPONENTS,
    CURRENCY_KEYS,
    CURRENCY_NAMES,
    MINOR_UNIT_KEYS,
    MixedCurrencyError,
    Money,
    MoneyError,
    find_amounts,
    find_money,
    parse_amount,
)
from canopy.errors import MalformedInputError


def m(amount: str, currency: str = "USD") -> Money:
    return Money(Decimal(amount), currency)


VALID: list[tuple[object, str | None, Money]] = [
    ("₹1,250.50", None, m("1250.50", "INR")),
    # (value, explicit currency, expected)
    (12, None, m("12.00")),
    (0, None, m("0.00")),
    (Decimal("12.5"), None, m("12.50")),
    (Decimal("12.500"), None, m("12.50")),  # a typed Decimal is exact, not ambiguous
    (Decimal("1E+3"), None, m("1000.00")),
    (12.5, None, m("12.50")),
    (0.1, None, m("0.10")),
    (1e16, None, m("10000000000000000.00")),
    (-0.0, None, m("0.00")),
    ("12", None, m("12.00")),
    ("12.5", None, m("12.50")),
    ("12.50", None, m("12.50")),
    ("0.99", None, m("0.99")),
    ("  7.00 ", None, m("7.00")),
    ("+5", None, m("5.00")),
    ("1,000.00", None, m("1000.00")),
    ("1,000", None, m("1000.00")),
    ("12,345,678.90", None, m("12345678.90")),
    ("$12.50", None, m("12.50")),
    ("$ 12.50", None, m("12.50")),
    ("+$5", None, m("5.00")),
    ("$+5", None, m("5.00")),
    ("$1,000.00", None, m("1000.00")),
    ("12.50$", None, m("12.50")),
    ("US$5", None, m("5.00")),
    ("USD 12.50", None, m("12.50")),
    ("USD12.50", None, m("12.50")),
    ("12.50 USD", None, m("12.50")),
    ("12.50 usd", None, m("12.50")),
    ("$12.50 USD", None, m("12.50")),
    ("12.50 EUR", None, m("12.50", "EUR")),
    ("€12.50", None, m("12.50", "EUR")),
    ("12.50 €", None, m("12.50", "EUR")),
    ("£1,250", None, m("1250.00", "GBP")),
    ("¥1000", None, m("1000", "JPY")),
    ("¥1,000", None, m("1000", "JPY")),
    ("¥12.50", "CNY", m("12.50", "CNY")),
    ("₩5000", None, m("5000", "KRW")),
    ("R$10.00", None, m("10.00", "BRL")),
    ("$12", "CAD", m("12.00", "CAD")),
    ("$12", "mxn", m("12.00", "MXN")),
    ("12.500", "BHD", m("12.500", "BHD")),
    ("1,000.000", "BHD", m("1000.000", "BHD")),
    ("1000", "JPY", m("1000", "JPY")),
    ("0.0001", "CLF", m("0.0001", "CLF")),
    (5, "eur", m("5.00", "EUR")),
    (Decimal("0.001"), "KWD", m("0.001", "KWD")),
]

INVALID: list[tuple[object, str | None]] = [
    # signs and non-finite values
    ("-5", None),
    ("-0", None),
    ("- 5", None),
    ("$-5", None),
    ("\u22125", None),  # minus sign
    ("(5.00)", None),
    ("5-", None),
    (-5, None),
    (Decimal("-0.01"), None),
    (-0.5, None),
    ("NaN", None),
    ("nan", None),
    ("-Infinity", None),
    ("inf", None),
    ("$NaN", None),
    (float("nan"), None),
    (float("inf"), None),
    (Decimal("NaN"), None),
    (Decimal("Infinity"), None),
    # exponents and odd numerals
    ("1e3", None),
    ("$1e3", None),
    ("1E-2", None),
    ("0x10", None),
    ("007", None),
    ("00.5", None),
    (".5", None),
    ("5.", None),
    ("1_000", None),
    ("١٢", None),  # Arabic-Indic digits: Decimal would accept them
    ("１２", None),  # fullwidth digits
    # separators
    ("1,00.0", None),
    ("1,0000", None),
    ("10,00", None),
    ("12,50", "EUR"),
    ("1.000,50", "EUR"),
    ("1.000.000", None),
    ("1 000", None),
    ("1,000", "BHD"),  # 1000 or 1.000?
    ("0,100", None),
    ("₹1,00,000", None),  # Indian lakh grouping: rejected, not guessed
    # too many decimals
    ("12.500", None),
    ("12.505", None),
    ("1.000", "EUR"),
    ("1000.5", "JPY"),
    ("1000.0", "JPY"),
    ("¥12.5", None),
    ("0.00001", "CLF"),
    (0.1 + 0.2, None),
    (Decimal("12.501"), None),
    (1e-9, None),
    # currencies
    ("12.50", "XYZ"),
    ("12.50", "US"),
    ("12.50", "usd1"),
    (12, "BTC"),
    ("12.50 XYZ", None),
    ("12.50 BTC", None),
    ("€12", "USD"),
    ("$12", "EUR"),
    ("12 EUR", "USD"),
    ("USD 12 EUR", None),
    ("€12 USD", None),
    ("¥12", "KRW"),
    # shapes and types
    ("", None),
    ("   ", None),
    ("$", None),
    ("USD", None),
    ("abc", None),
    ("++5", None),
    ("+$+5", None),
    ("$$5", None),
    ("1" * 70, None),
    (10**30, None),
    (True, None),
    (False, None),
    (None, None),
    ([12], None),
    ({"amount": 12}, None),
    (b"12", None),
]


def test_table_size() -> None:
    assert len(VALID) + len(INVALID) >= 50
    assert len(CURRENCY_EXPONENTS) >= 40


@pytest.mark.parametrize(("value", "currency", "expected"), VALID)
def test_valid_amounts(value: object, currency: str | None, expected: Money) -> None:
    parsed = parse_amount(value, currency=currency)
    assert parsed == expected
    assert str(parsed.amount) == str(expected.amount)  # quantized to the minor unit
    assert parsed.amount.as_tuple().exponent == -CURRENCY_EXPONENTS[parsed.currency]


@pytest.mark.parametrize(("value", "currency"), INVALID)
def test_invalid_amounts(value: object, currency: str | None) -> None:
    with pytest.raises(MoneyError):
        parse_amount(value, currency=currency)


def test_money_error_is_a_malformed_input_error() -> None:
    with pytest.raises(MalformedInputError):
        parse_amount("-1")
    assert issubclass(MoneyError, ValueError)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("-5", "negative"),
        ("NaN", "finite"),
        ("1e3", "exponent"),
        ("12.500", "2 decimal places"),
        ("1,000", "ambiguous"),
        ("€1", "conflicts"),
        ("1 XYZ", "unknown currency"),
    ],
)
def test_errors_say_why(value: str, fragment: str) -> None:
    currency = "BHD" if value == "1,000" else "USD" if value == "€1" else None
    with pytest.raises(MoneyError, match=fragment):
        parse_amount(value, currency=currency)


@pytest.mark.parametrize(
    ("amount", "currency"),
    [(Decimal("-1"), "USD"), (Decimal("NaN"), "USD"), (Decimal("1"), "XYZ"), (1, "USD")],
)
def test_money_checks_its_invariants(amount: object, currency: str) -> None:
    with pytest.raises(MoneyError):
        Money(amount, currency)  # type: ignore[arg-type]


def test_currency_table() -> None:
    assert CURRENCY_EXPONENTS["USD"] == 2
    assert CURRENCY_EXPONENTS["JPY"] == 0
    assert CURRENCY_EXPONENTS["KRW"] == 0
    assert CURRENCY_EXPONENTS["BHD"] == 3
    assert CURRENCY_EXPONENTS["CLF"] == 4
    assert all(len(c) == 3 and c.isupper() for c in CURRENCY_EXPONENTS)


# --- payloads ---------------------------------------------------------------------------

PAYLOADS: list[tuple[dict, Money | None]] = [
    ({"amount": "12.50", "currency": "EUR"}, m("12.50", "EUR")),
    ({"amount": 12, "currency": "usd"}, m("12.00")),
    ({"amount": "1,000.00"}, m("1000.00")),
    ({"amount_usd": 5}, m("5.00")),
    ({"amount_eur": "5"}, m("5.00", "EUR")),
    ({"value": "9.99"}, m("9.99")),
    ({"total": 30, "ccy": "GBP"}, m("30.00", "GBP")),
    ({"price": "2.50", "currency_code": "CAD"}, m("2.50", "CAD")),
    ({"cost": 3}, m("3.00")),
    ({"sum": 4}, m("4.00")),
    ({"payment_amount": 6}, m("6.00")),
    ({"transfer_amount": "7.00 EUR"}, m("7.00", "EUR")),
    ({"totalAmount": "9.99"}, m("9.99")),
    ({"amount_due": 100}, m("100.00")),
    ({"amount_cents": 1250}, m("12.50")),
    ({"amount_minor": "1250", "currency": "JPY"}, m("1250", "JPY")),
    ({"cents": 5}, m("0.05")),
    ({"amount_in_cents": 12345, "currency": "BHD"}, m("12.345", "BHD")),
    ({"amount": {"value": "12.50", "currency": "EUR"}}, m("12.50", "EUR")),
    ({"currency": "EUR", "amount": {"value": "12.50"}}, m("12.50", "EUR")),
    ({"amount": {"amount_cents": 999}}, m("9.99")),
    ({"amount": 10, "total": 12.5}, m("12.50")),  # alternatives: the largest
    ({"line_items": [{"price": 10, "quantity": 3}, {"price": "2.50"}]}, m("32.50")),
    ({"items": [{"amount": 1}, {"amount": 2}, {"note": "x"}]}, m("3.00")),
    ({"total": 5, "items": [{"price": 10}, {"price": 20}]}, m("30.00")),
    ({"currency": "EUR", "items": [{"price": "1.50", "qty": "2"}]}, m("3.00", "EUR")),
    ({"data": {"object": {"amount": 5000, "currency": "jpy"}}}, m("5000", "JPY")),
    ({"transfers": [{"amount": 1}, {"amount": 2}], "batch": True}, m("3.00")),
    ({"amount": [1, "2.50"]}, m("3.50")),
    ({"name": "x"}, None),
    ({}, None),
    ({"form": {"value": "Bob"}}, None),  # "value" is an amount only at the top
    ({"recipient": "bob", "memo": "thanks"}, None),
    ({"currency": None, "amount": 1}, m("1.00")),
]


@pytest.mark.parametrize(("payload", "expected"), PAYLOADS)
def test_find_money(payload: dict, expected: Money | None) -> None:
    assert find_money(payload) == expected


BAD_PAYLOADS = [
    {"amount": "NaN"},
    {"amount": "-5"},
    {"amount": "1e3"},
    {"amount": True},
    {"amount": None},
    {"value": "Bob"},
    {"amount": "12.50", "currency": "XYZ"},
    {"amount": "12.50", "currency": 840},
    {"amount": "€12", "currency": "USD"},
    {"amount": 1, "currency": "USD", "ccy": "EUR"},
    {"amount_usd": "5 EUR"},
    {"amount_cents": 12.5},
    {"amount_cents": "-5"},
    {"amount_cents": True},
    {"amount": {"currency": "EUR"}},
    {"amount": []},
    {"items": [{"price": 1, "currency": "USD"}, {"price": 1, "currency": "EUR"}]},
    {"items": [{"price": 1, "currency": "EUR"}, {"price": 1}]},  # EUR and default USD
    {"amount_usd": 5, "amount_eur": 5},
    {"items": [{"price": 1, "quantity": -2}]},
    {"items": [{"price": 1, "quantity": 1.5}]},
    {"payment": {"details": {"amount": "1.000,00"}}},
]


@pytest.mark.parametrize("payload", BAD_PAYLOADS)
def test_find_money_raises_on_unparseable_amounts(payload: dict) -> None:
    with pytest.raises(MoneyError):
        find_money(payload)


def test_find_money_error_names_the_field() -> None:
    with pytest.raises(MoneyError, match=r"\$\.order\.items\[1\]\.price"):
        find_money({"order": {"items": [{"price": 1}, {"price": "1e9"}]}})


def test_find_money_limits_depth() -> None:
    payload: dict = {"amount": 1}
    for _ in range(100):
        payload = {"wrap": payload}
    with pytest.raises(MoneyError, match="nested"):
        find_money(payload)


def test_find_money_needs_a_mapping() -> None:
    with pytest.raises(MoneyError):
        find_money([{"amount": 1}])  # type: ignore[arg-type]


def test_key_tables() -> None:
    assert {"amount", "amount_usd", "value", "total", "price"} <= set(AMOUNT_KEYS)
    assert {"amount_cents", "amount_minor", "cents"} <= set(MINOR_UNIT_KEYS)
    assert set(CURRENCY_KEYS) == {"currency", "currency_code", "ccy"}


# --- hypothesis ------------------------------------------------------------------------

cents = st.integers(min_value=0, max_value=10**14)


def with_commas(whole: int) -> str:
    return f"{whole:,}"


SPELLINGS = [
    lambda w, f: f"{w}.{f}",
    lambda w, f: f"{with_commas(w)}.{f}",
    lambda w, f: f"${w}.{f}",
    lambda w, f: f"$ {with_commas(w)}.{f}",
    lambda w, f: f"+${with_commas(w)}.{f}",
    lambda w, f: f"USD {w}.{f}",
    lambda w, f: f"{with_commas(w)}.{f} USD",
    lambda w, f: f"US${w}.{f}",
    lambda w, f: f"  {w}.{f}usd ",
]


@given(cents, st.sampled_from(range(len(SPELLINGS))))
def test_round_trip_through_spellings(amount_cents: int, spelling: int) -> None:
    value = Decimal(amount_cents).scaleb(-2)
    whole, fraction = divmod(amount_cents, 100)
    text = SPELLINGS[spelling](whole, f"{fraction:02}")
    assert parse_amount(text) == Money(value, "USD")
    assert parse_amount(text).amount == value


@given(cents, st.sampled_from(["EUR", "GBP", "CHF", "INR"]))
def test_round_trip_other_currencies(amount_cents: int, currency: str) -> None:
    value = Decimal(amount_cents).scaleb(-2)
    symbol = {"EUR": "€", "GBP": "£", "INR": "₹"}.get(currency, "")
    for text in (f"{value:,} {currency}", f"{symbol}{value}", f"{currency}{value:,}"):
        assert parse_amount(text, currency=currency) == Money(value, currency)
        if currency in text or symbol:
            assert parse_amount(text) == Money(value, currency)


@given(cents)
def test_minor_units_agree_with_major(amount_cents: int) -> None:
    major = Decimal(amount_cents).scaleb(-2)
    assert find_money({"amount_cents": amount_cents}) == find_money({"amount": str(major)})


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=0, max_value=10**12))
def test_decimal_and_text_agree(value: Decimal) -> None:
    assert parse_amount(value) == parse_amount(f"{value:f}") == parse_amount(f"{value:,.2f}")


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=0, max_value=1e12))
def test_floats_are_exact_or_rejected(value: float) -> None:
    try:
        parsed = parse_amount(value)
    except MoneyError:
        assert Decimal(repr(value)) != Decimal(repr(value)).quantize(Decimal("0.01"))
    else:
        assert parsed.amount == Decimal(repr(value))


# --- everyday spellings (red-team run: refused although unambiguous) --------------------

#: Text amounts people write, with the currency each must parse to.
EVERYDAY_TEXT: list[tuple[str, Money]] = [
    ("12.50 dollars", m("12.50")),
    ("12.50 Dollars", m("12.50")),
    ("12.50 USD", m("12.50")),
    ("USD 12.50", m("12.50")),
    ("12.50 usd", m("12.50")),
    ("$12.50", m("12.50")),
    ("US$12.50", m("12.50")),
    ("12.50 US dollars", m("12.50")),
    ("dollars 12", m("12.00")),
    ("$12 dollars", m("12.00")),
    ("1 dollar", m("1.00")),
    ("12 euros", m("12.00", "EUR")),
    ("1 euro", m("1.00", "EUR")),
    ("€12.50", m("12.50", "EUR")),
    ("12.50 EUR", m("12.50", "EUR")),
    ("£3", m("3.00", "GBP")),
    ("3 pounds", m("3.00", "GBP")),
    ("3 pounds sterling", m("3.00", "GBP")),
    ("¥500", m("500", "JPY")),
    ("500 yen", m("500", "JPY")),
    ("¥500 yen", m("500", "JPY")),
    ("¥12.50 yuan", m("12.50", "CNY")),
    ("20 Swiss francs", m("20.00", "CHF")),
    ("5000 won", m("5000", "KRW")),
    ("12 canadian dollars", m("12.00", "CAD")),
    ("C$12 canadian dollars", m("12.00", "CAD")),
    ("100 rupees", m("100.00", "INR")),
    # decimal comma: a comma currency named in the string, two digits after the comma
    ("€12,50", m("12.50", "EUR")),
    ("12,50 €", m("12.50", "EUR")),
    ("12,50 EUR", m("12.50", "EUR")),
    ("EUR 12,50", m("12.50", "EUR")),
    ("12,50 euros", m("12.50", "EUR")),
    ("€0,99", m("0.99", "EUR")),
    ("€1234,50", m("1234.50", "EUR")),
    ("R$ 10,00", m("10.00", "BRL")),
    ("99,95 SEK", m("99.95", "SEK")),
    # three digits after a comma stay a thousands separator
    ("€1,000", m("1000.00", "EUR")),
    ("€12,500", m("12500.00", "EUR")),
]


@pytest.mark.parametrize(("text", "expected"), EVERYDAY_TEXT)
def test_everyday_text_amounts(text: str, expected: Money) -> None:
    parsed = parse_amount(text)
    assert parsed == expected
    assert str(parsed.amount) == str(expected.amount)
    assert find_money({"amount": text}) == expected


#: A currency field holding a name or a symbol, with the ISO code it means.
CURRENCY_SPELLINGS: list[tuple[str, str]] = [
    ("US Dollar", "USD"),
    ("us dollars", "USD"),
    ("United States Dollars", "USD"),
    ("dollars", "USD"),
    ("dollar", "USD"),
    ("euro", "EUR"),
    ("Euros", "EUR"),
    ("EURO", "EUR"),
    ("pounds sterling", "GBP"),
    ("British pound", "GBP"),
    ("sterling", "GBP"),
    ("yen", "JPY"),
    ("renminbi", "CNY"),
    ("RMB", "CNY"),
    ("swiss franc", "CHF"),
    ("Australian Dollars", "AUD"),
    ("mexican pesos", "MXN"),
    ("reais", "BRL"),
    ("danish kroner", "DKK"),
    ("rand", "ZAR"),
    ("€", "EUR"),
    ("$", "USD"),
    ("US$", "USD"),
    ("£", "GBP"),
    ("¥", "JPY"),
    (" usd ", "USD"),
    ("  us   dollars ", "USD"),
]


@pytest.mark.parametrize(("spelling", "code"), CURRENCY_SPELLINGS)
def test_currency_field_spellings(spelling: str, code: str) -> None:
    amount = 12 if CURRENCY_EXPONENTS[code] == 0 else 12.5
    expected = parse_amount(amount, currency=code)
    assert find_money({"amount": amount, "currency": spelling}) == expected
    assert parse_amount(str(amount), currency=spelling) == expected


#: A family name or symbol fits its family, and only it.
FAMILIES: list[tuple[str, str, Money | None]] = [
    ("12 dollars", "CAD", m("12.00", "CAD")),
    ("12 dollars", "usd", m("12.00")),
    ("12 dollars", "AUD", m("12.00", "AUD")),
    ("12 pounds", "EGP", m("12.00", "EGP")),
    ("12 rupees", "PKR", m("12.00", "PKR")),
    ("$12,50", "ARS", m("12.50", "ARS")),
    ("12 dollars", "MXN", None),  # "$" fits pesos, "dollars" does not
    ("12 dollars", "EUR", None),
    ("12 euros", "USD", None),
    ("12 yen", "CNY", None),
    ("12 pounds", "USD", None),
]


@pytest.mark.parametrize(("text", "currency", "expected"), FAMILIES)
def test_family_names_fit_their_family(text: str, currency: str, expected: Money | None) -> None:
    if expected is None:
        with pytest.raises(MoneyError, match="conflicts"):
            parse_amount(text, currency=currency)
    else:
        assert parse_amount(text, currency=currency) == expected


#: Spellings that must stay refused, with a fragment of the reason given.
STILL_REFUSED: list[tuple[object, str | None, str]] = [
    ("12 dollarz", None, "unknown currency"),
    ("12 bucks", None, "unknown currency"),
    ("12 francs", None, "unknown currency"),  # CHF, XAF, XOF, RWF: not guessed
    ("12 pesos", None, "unknown currency"),
    ("12 usd dollars", None, "unknown currency"),
    ("12 yens", None, "unknown currency"),
    ("12 XYZ", None, "unknown currency code"),
    ("about 12 dollars", None, "unknown currency"),
    ("12 dollars approx", None, "unknown currency"),
    ("12 dollars and 50 cents", None, "not an amount"),
    ("12  dollars", None, "not an amount"),
    ("12 \u212aorean won", None, "not an amount"),  # Kelvin sign, not K
    ("twelve dollars", None, "not an amount"),
    ("NaN dollars", None, "not an amount"),
    ("Infinity euros", None, "not an amount"),
    ("inf USD", None, "not an amount"),
    ("Infinity", "euros", "finite"),
    ("-12 dollars", None, "negative"),
    ("12 dollars-", None, "negative"),
    ("1e6 dollars", None, "exponent"),
    ("0x10", None, "hexadecimal"),
    ("0xff dollars", None, "hexadecimal"),
    ("1_000 euros", None, "not an amount"),
    ("١٢ dollars", None, "not an amount"),
    ("12 euros", "USD", "conflicts"),
    ("12 dollars 12 euros", None, "not an amount"),
    ("$12 euros", None, "conflicts"),
    ("€12 dollars", None, "conflicts"),
    ("12.50 yen", None, "0 decimal places"),
    ("12.505 euros", None, "2 decimal places"),
    # decimal commas that could be misread
    ("12,50", None, "unambiguous decimal"),
    ("12,50", "EUR", "unambiguous decimal"),  # no marker in the string itself
    ("12,50", "euros", "unambiguous decimal"),
    ("$12,50", None, "unambiguous decimal"),  # USD is written with a decimal point
    ("£12,50", None, "unambiguous decimal"),
    ("12,50 dollars", None, "unambiguous decimal"),
    ("€12,5", None, "unambiguous decimal"),
    ("€12,50 USD", None, "conflicts"),
    ("€012,50", None, "unambiguous decimal"),
    ("€1.000,50", None, "unambiguous decimal"),
    ("€1,000,50", None, "unambiguous decimal"),
    ("€1,00,00", None, "unambiguous decimal"),
    ("€,50", None, "not an amount"),
    ("€1.000", None, "2 decimal places"),
    ("1,000", "KWD", "ambiguous"),
    ("1,000 dinars", None, "unknown currency"),
    # currency fields
    (12, "US Dollars!", "unknown currency"),
    (12, "bitcoin", "unknown currency"),
    (12, "", "unknown currency"),
    (12, "€€", "unknown currency"),
    (12, "euro\u00a0s", "unknown currency"),
    (12, "y\u0435n", "unknown currency"),  # Cyrillic e
    # floats held to the minor unit
    (0.1 + 0.2, None, "binary floating-point"),
    (12.345, None, "2 decimal places"),
    (12.5, "yen", "0 decimal places"),
]


@pytest.mark.parametrize(("value", "currency", "fragment"), STILL_REFUSED)
def test_still_refused(value: object, currency: str | None, fragment: str) -> None:
    with pytest.raises(MoneyError, match=fragment):
        parse_amount(value, currency=currency)


def test_table_of_new_rows_is_large() -> None:
    rows = EVERYDAY_TEXT + CURRENCY_SPELLINGS + FAMILIES + STILL_REFUSED
    assert len(rows) >= 40


def test_float_hint_only_for_float_noise() -> None:
    with pytest.raises(MoneyError) as noisy:
        parse_amount(0.1 + 0.2)
    assert "0.30000000000000004" in str(noisy.value)
    assert "minor units" in str(noisy.value)
    with pytest.raises(MoneyError) as plain:
        parse_amount(12.5, currency="JPY")
    assert "floating-point" not in str(plain.value)
    assert parse_amount(round(0.1 + 0.2, 2)) == m("0.30")  # the fix the message suggests


def test_currency_name_table() -> None:
    for name, (main, fits) in CURRENCY_NAMES.items():
        assert name == name.lower().strip() and name.isascii(), name
        assert main in fits and fits <= set(CURRENCY_EXPONENTS), name
        assert name.upper() not in CURRENCY_EXPONENTS, f"{name} would shadow an ISO code"
    assert CURRENCY_NAMES["euros"] == ("EUR", frozenset({"EUR"}))
    assert CURRENCY_NAMES["dollars"][0] == "USD"


def test_comma_decimal_currencies_have_two_decimals() -> None:
    assert "EUR" in COMMA_DECIMAL_CURRENCIES and "USD" not in COMMA_DECIMAL_CURRENCIES
    assert all(CURRENCY_EXPONENTS[c] == 2 for c in COMMA_DECIMAL_CURRENCIES)


# --- several currencies -----------------------------------------------------------------

USD_WITH_EUR_FEE = {"amount": 10, "currency": "USD", "fee": {"amount": 1, "currency": "EUR"}}

MIXED: list[tuple[dict, tuple[Money, ...]]] = [
    (USD_WITH_EUR_FEE, (m("1.00", "EUR"), m("10.00"))),
    ({"amount": [1, "2 EUR", "3 USD"]}, (m("2.00", "EUR"), m("4.00"))),
    (
        {"items": [{"price": 1, "currency": "USD"}, {"price": 2, "qty": 3, "currency": "EUR"}]},
        (m("6.00", "EUR"), m("1.00")),
    ),
    ({"amount_usd": 5, "amount_eur": 7}, (m("7.00", "EUR"), m("5.00"))),
    ({"amount": "12 euros", "total": "12.50 dollars"}, (m("12.00", "EUR"), m("12.50"))),
    (
        {"amount": 10, "total": 12, "fee": {"amount": 1, "currency": "EUR"}},
        (m("1.00", "EUR"), m("12.00")),
    ),
    ({"amount": "€12,50"}, (m("12.50", "EUR"),)),
    ({"name": "x"}, ()),
]


@pytest.mark.parametrize(("payload", "expected"), MIXED)
def test_find_amounts_keeps_currencies_apart(payload: dict, expected: tuple[Money, ...]) -> None:
    assert find_amounts(payload) == expected
    if len(expected) <= 1:
        assert find_money(payload) == (expected[0] if expected else None)
        return
    with pytest.raises(MixedCurrencyError, match="different currencies") as raised:
        find_money(payload)
    assert raised.value.amounts == expected
    assert isinstance(raised.value, MoneyError)


def test_find_amounts_still_refuses_bad_amounts() -> None:
    with pytest.raises(MoneyError):
        find_amounts({"amount": 10, "fee": {"amount": "NaN", "currency": "EUR"}})
    with pytest.raises(MoneyError):
        find_amounts({"amount": 1, "currency": "USD", "ccy": "euros"})


# --- exact arithmetic ---------------------------------------------------------------------


def test_sums_ignore_the_callers_decimal_context() -> None:
    with decimal.localcontext() as context:
        context.prec = 3
        assert find_money({"items": [{"price": "1234.56"}, {"price": 1}]}) == m("1235.56")
        assert find_money({"amount_cents": 12345}) == m("123.45")
        assert find_money({"price": "1234.56", "quantity": 3}) == m("3703.68")


@pytest.mark.parametrize(
    "payload",
    [
        {"items": [{"price": "9" * 23}] * 20},
        {"items": [{"price": "1" * 23, "qty": 1000}]},
        {"price": 1, "quantity": 10**40},
    ],
)
def test_totals_are_held_to_the_size_limit(payload: dict) -> None:
    with pytest.raises(MoneyError, match="integer digits"):
        find_money(payload)


# --- end to end: what the red-team run saw --------------------------------------------------

END_TO_END: list[tuple[dict, bool]] = [
    ({"amount": "12.50 dollars"}, True),
    ({"amount": "12 euros"}, True),
    ({"amount": "€12,50"}, True),
    ({"amount": 12.5, "currency": "US Dollar"}, True),
    ({"amount": 12.5, "currency": "pounds sterling"}, True),
    ({"amount": 12.5, "currency": "€"}, True),
    ({"amount": 0.30000000000000004}, False),
    ({"amount": "1e6 dollars"}, False),
    ({"amount": "12,50"}, False),
]


@pytest.mark.parametrize(("payload", "accepted"), END_TO_END)
def test_authorize_action_reads_the_amount(payload: dict, accepted: bool, tmp_path: Path) -> None:
    result = authorize_action(
        {"agent_id": "a"}, "spend_money", payload, audit_log_path=tmp_path / "l.db"
    )
    refused = result["rule_id"] == "firewall.money.unparseable"
    assert refused is not accepted, result["reason"]
    if refused:
        assert result["decision"].value == "DENY"
