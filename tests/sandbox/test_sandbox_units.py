"""SI conversion: the backend's own expectations (src/common/utils.spec.ts, test/TestData.js)."""

from __future__ import annotations

import pytest

from scisync.sandbox.quirks import si_value
from scisync.sandbox.units import UnknownUnit, parse_unit, to_si

CASES = [
    # from src/common/utils.spec.ts
    (1, "cm", 0.01, "m"),
    (1, "Å", 1e-10, "m"),
    (1, "\u212b", 1e-10, "m"),  # the other Å code point
    (1000, "g", 1, "kg"),
    (1, "m", 1, "m"),
    (-5, "cm", -0.05, "m"),
    # from test/TestData.js
    (22595, "eV", 3.6201179486175005e-15, "(kg m^2) / s^2"),
    (0.402246, "A", 0.402246, "A"),
    (0.4, "s", 0.4, "s"),
    (0.1, "deg", 0.0017453292519943296, "rad"),
    (100, "mbar l/s/cm^2", 100000, "kg / s^3"),
    # mathjs formatting of other derived units
    (1, "bar", 100000, "kg / (m s^2)"),
    (3, "kHz", 3000, "s^-1"),
    (20, "degC", 293.15, "K"),
    (4, "K", 4, "K"),
    (2, "mK", 0.002, "K"),
    (1, "m/s", 1, "m / s"),
    (1, "mT", 0.001, "kg / (s^2 A)"),
    (2, "min", 120, "s"),
]


@pytest.mark.parametrize(("value", "unit", "value_si", "unit_si"), CASES)
def test_conversion_matches_the_backend(
    value: float, unit: str, value_si: float, unit_si: str
) -> None:
    converted, si = to_si(value, unit)
    assert converted == pytest.approx(value_si, rel=1e-12)
    assert si == unit_si


@pytest.mark.parametrize("unit", ["invalidUnit", "furlong", "m//s", "/s", "°C", "m^x", ""])
def test_unknown_units_pass_through(unit: str) -> None:
    with pytest.raises(UnknownUnit):
        parse_unit(unit)
    assert si_value(1, unit) == (1, unit)


def test_non_numbers_pass_through() -> None:
    assert si_value("warm", "K") == ("warm", "K")
    assert si_value(True, "K") == (True, "K")
