"""SI conversion of physical quantities, as the backend's ``convertToSI`` does it.

The backend (``src/common/utils.ts`` ``convertToSI``) asks mathjs for
``unit(value, u).to(unit(u).toSI().unit)``: the SI unit is written in *base* units in
mathjs's order (kg m s A K cd mol rad b) and format, so energy is ``(kg m^2) / s^2``,
pressure ``kg / (m s^2)`` and frequency ``s^-1``; ``Å`` is added as an angstrom.  A unit
mathjs cannot parse leaves value and unit unchanged.  This module knows the units
scientific metadata commonly uses (short SI prefixes on the SI units), products with
spaces or ``*``, quotients with ``/`` (each ``/`` divides by the next factor only, as in
mathjs: ``mbar l/s/cm^2`` is ``kg / s^3``) and integer powers with ``^``.
"""

from __future__ import annotations

import math
import re
import unicodedata

# kg m s A K cd mol rad b: mathjs's BASE_DIMENSIONS order and its SI base-unit names.
_BASE_NAMES = ("kg", "m", "s", "A", "K", "cd", "mol", "rad", "b")
Dims = tuple[int, ...]


def _dims(**powers: int) -> Dims:
    return tuple(
        powers.get(name, 0) for name in ("kg", "m", "s", "A", "K", "cd", "mol", "rad", "b")
    )


# name -> (factor to SI, dimensions, offset added before scaling, takes SI prefixes)
_UNITS: dict[str, tuple[float, Dims, float, bool]] = {}


def _add(names: str, factor: float, dims: Dims, *, offset: float = 0.0, prefixes: bool) -> None:
    for name in names.split():
        _UNITS[name] = (factor, dims, offset, prefixes)


_LENGTH, _MASS, _TIME = _dims(m=1), _dims(kg=1), _dims(s=1)
_ENERGY = _dims(kg=1, m=2, s=-2)
_add("m", 1, _LENGTH, prefixes=True)
_add("meter meters metre metres", 1, _LENGTH, prefixes=False)
_add("in inch inches", 0.0254, _LENGTH, prefixes=False)
_add("ft foot feet", 0.3048, _LENGTH, prefixes=False)
_add("angstrom angstroms Å", 1e-10, _LENGTH, prefixes=False)
_add("g", 1e-3, _MASS, prefixes=True)
_add("gram grams", 1e-3, _MASS, prefixes=False)
_add("t tonne tonnes", 1e3, _MASS, prefixes=False)
_add("s", 1, _TIME, prefixes=True)
_add("sec second seconds", 1, _TIME, prefixes=False)
_add("min minute minutes", 60, _TIME, prefixes=False)
_add("h hr hour hours", 3600, _TIME, prefixes=False)
_add("day days", 86400, _TIME, prefixes=False)
_add("A", 1, _dims(A=1), prefixes=True)
_add("ampere amperes", 1, _dims(A=1), prefixes=False)
_add("K", 1, _dims(K=1), prefixes=True)
_add("kelvin", 1, _dims(K=1), prefixes=False)
_add("degC celsius", 1, _dims(K=1), offset=273.15, prefixes=False)
_add("degF fahrenheit", 5 / 9, _dims(K=1), offset=459.67, prefixes=False)
_add("cd candela", 1, _dims(cd=1), prefixes=False)
_add("mol", 1, _dims(mol=1), prefixes=True)
_add("mole moles", 1, _dims(mol=1), prefixes=False)
_add("rad", 1, _dims(rad=1), prefixes=True)
_add("radian radians", 1, _dims(rad=1), prefixes=False)
_add("deg degree degrees", math.pi / 180, _dims(rad=1), prefixes=False)
_add("arcmin", math.pi / 10800, _dims(rad=1), prefixes=False)
_add("arcsec", math.pi / 648000, _dims(rad=1), prefixes=False)
_add("b bit bits", 1, _dims(b=1), prefixes=True)
_add("B byte bytes", 8, _dims(b=1), prefixes=True)
_add("Hz", 1, _dims(s=-1), prefixes=True)
_add("hertz", 1, _dims(s=-1), prefixes=False)
_add("N", 1, _dims(kg=1, m=1, s=-2), prefixes=True)
_add("newton newtons", 1, _dims(kg=1, m=1, s=-2), prefixes=False)
_add("J", 1, _ENERGY, prefixes=True)
_add("joule joules", 1, _ENERGY, prefixes=False)
_add("eV", 1.602176565e-19, _ENERGY, prefixes=True)  # mathjs's value
_add("electronvolt electronvolts", 1.602176565e-19, _ENERGY, prefixes=False)
_add("Wh", 3600, _ENERGY, prefixes=True)
_add("W", 1, _dims(kg=1, m=2, s=-3), prefixes=True)
_add("watt watts", 1, _dims(kg=1, m=2, s=-3), prefixes=False)
_add("Pa", 1, _dims(kg=1, m=-1, s=-2), prefixes=True)
_add("pascal", 1, _dims(kg=1, m=-1, s=-2), prefixes=False)
_add("bar", 1e5, _dims(kg=1, m=-1, s=-2), prefixes=True)
_add("atm", 101325, _dims(kg=1, m=-1, s=-2), prefixes=False)
_add("torr", 133.322, _dims(kg=1, m=-1, s=-2), prefixes=False)
_add("mmHg", 133.322387415, _dims(kg=1, m=-1, s=-2), prefixes=False)
_add("psi", 6894.75729316836, _dims(kg=1, m=-1, s=-2), prefixes=False)
_add("C", 1, _dims(A=1, s=1), prefixes=True)
_add("coulomb coulombs", 1, _dims(A=1, s=1), prefixes=False)
_add("V", 1, _dims(kg=1, m=2, s=-3, A=-1), prefixes=True)
_add("volt volts", 1, _dims(kg=1, m=2, s=-3, A=-1), prefixes=False)
_add("ohm", 1, _dims(kg=1, m=2, s=-3, A=-2), prefixes=True)
_add("F", 1, _dims(kg=-1, m=-2, s=4, A=2), prefixes=True)
_add("T", 1, _dims(kg=1, s=-2, A=-1), prefixes=True)
_add("tesla", 1, _dims(kg=1, s=-2, A=-1), prefixes=False)
_add("Wb", 1, _dims(kg=1, m=2, s=-2, A=-1), prefixes=True)
_add("l L", 1e-3, _dims(m=3), prefixes=True)
_add("liter liters litre litres", 1e-3, _dims(m=3), prefixes=False)

_PREFIXES = {
    "da": 1e1, "h": 1e2, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "d": 1e-1, "c": 1e-2, "m": 1e-3, "u": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15,
    "a": 1e-18,
}  # fmt: skip

_FACTOR = re.compile(r"^([^\s*/^]+)(?:\^(-?\d+))?$")


class UnknownUnit(ValueError):
    """mathjs would not parse this unit: the backend then keeps value and unit as they are."""


def _lookup(name: str) -> tuple[float, Dims, float]:
    found = _UNITS.get(name)
    if found is not None:
        return found[0], found[1], found[2]
    for prefix in sorted(_PREFIXES, key=len, reverse=True):
        if name.startswith(prefix):
            base = _UNITS.get(name[len(prefix) :])
            if base is not None and base[3]:
                return _PREFIXES[prefix] * base[0], base[1], 0.0
    raise UnknownUnit(name)


def parse_unit(text: str) -> tuple[float, Dims, float]:
    """``(factor to SI, dimensions, offset)``; an offset only for a lone unit like degC."""
    tokens = re.findall(r"[^\s*/]+|/", unicodedata.normalize("NFC", text))
    factor, dims, offset, count = 1.0, [0] * len(_BASE_NAMES), 0.0, 0
    divide = False
    for token in tokens:
        if token == "/":
            if divide or count == 0:
                raise UnknownUnit(text)
            divide = True
            continue
        match = _FACTOR.match(token)
        if match is None:
            raise UnknownUnit(text)
        unit_factor, unit_dims, offset = _lookup(match.group(1))
        power = int(match.group(2) or 1) * (-1 if divide else 1)
        factor *= unit_factor**power
        dims = [d + u * power for d, u in zip(dims, unit_dims, strict=True)]
        divide = False
        count += 1
    if count == 0 or divide:
        raise UnknownUnit(text)
    return factor, tuple(dims), offset if count == 1 else 0.0


def format_si(dims: Dims) -> str:
    """mathjs's ``formatUnits`` for a unit written in SI base units."""
    numerator = [_power(name, p) for name, p in zip(_BASE_NAMES, dims, strict=True) if p > 0]
    negative = [(name, p) for name, p in zip(_BASE_NAMES, dims, strict=True) if p < 0]
    if not numerator:
        return " ".join(f"{name}^{p}" for name, p in negative)
    denominator = [_power(name, -p) for name, p in negative]
    top = " ".join(numerator)
    if not denominator:
        return top
    top = f"({top})" if len(numerator) > 1 else top
    bottom = " ".join(denominator)
    bottom = f"({bottom})" if len(denominator) > 1 else bottom
    return f"{top} / {bottom}"


def _power(name: str, power: int) -> str:
    return name if power == 1 else f"{name}^{power}"


def to_si(value: float, unit: str) -> tuple[float, str]:
    """``(valueSI, unitSI)``; raises :class:`UnknownUnit` for what mathjs would refuse."""
    factor, dims, offset = parse_unit(unit)
    converted = (value + offset) * factor
    if isinstance(converted, float) and converted.is_integer() and abs(converted) < 2**53:
        converted = int(converted)  # JavaScript prints 273.15 + 0 as 273.15, 25 as 25
    return converted, format_si(dims)
