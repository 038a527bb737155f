"""The EUDR statement's properties: which plots column feeds each, and country names to ISO codes.

* :func:`country_code` — ``PE``, ``pe``, ``PER``, ``Peru``, ``Perú``, ``República del Perú``… to
  ``PE``, from the ISO 3166-1 table that ``pycountry`` maintains (English names, official and
  common names, and its Spanish translations); None for a value that names no country;
* :func:`eudr_columns` — the column of each property: the one configured, else the first found
  under its common names in English and Spanish (``productor``, ``pais``, ``lugar``…), compared
  without case, accents or separators; an input attribute renamed ``input_<name>`` by the
  screening is found under its own name too.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import pycountry

from ...config import ExportConfig
from ...errors import ConfigError
from ...i18n import tr

#: The statement's properties and the names their column goes by, in order of preference.
PROPERTY_COLUMNS: dict[str, tuple[str, ...]] = {
    "ProducerName": (
        "ProducerName", "producer_name", "producer", "productor", "nombre_productor", "productor_nombre",
        "nombre_del_productor", "agricultor", "nombre_agricultor", "socio", "nombre_socio", "farmer", "farmer_name",
    ),
    "ProducerCountry": ("ProducerCountry", "producer_country", "country", "pais", "pais_productor", "country_code"),
    "ProductionPlace": (
        "ProductionPlace", "production_place", "place", "lugar", "lugar_produccion", "lugar_de_produccion",
        "localidad", "caserio", "sector", "comunidad", "location",
    ),
}  # fmt: skip

#: Which ``ExportConfig`` field names each property's column.
CONFIG_KEYS = {
    "ProducerName": "producer_name_column",
    "ProducerCountry": "producer_country_column",
    "ProductionPlace": "production_place_column",
}


def fold(text: str) -> str:
    """``text`` compared loosely: lower case, without accents, without spaces, dots, dashes or underscores."""
    plain = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[\s._\-'’()]+", "", plain.lower())


@lru_cache(maxsize=1)
def _country_table() -> dict[str, str]:
    """Every spelling pycountry knows of every country (folded), to its alpha-2 code."""
    spanish = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["es"], fallback=True)
    table: dict[str, str] = {}
    for c in pycountry.countries:
        names = [c.alpha_2, c.alpha_3, c.name]
        names += [v for v in (getattr(c, "official_name", None), getattr(c, "common_name", None)) if v]
        names += [spanish.gettext(n) for n in list(names[2:])]
        for name in names:
            table.setdefault(fold(name), c.alpha_2)
    return table


def country_code(value: object) -> str | None:
    """The ISO 3166-1 alpha-2 code ``value`` names (a code of 2 or 3 letters, or a name in English
    or Spanish), or None."""
    if value is None:
        return None
    return _country_table().get(fold(str(value).strip())) if str(value).strip() else None


@dataclass(frozen=True)
class EudrColumns:
    """Which plots columns give the statement's properties (None: not given)."""

    producer_name: str | None
    producer_country: str | None
    production_place: str | None
    country: str | None  # one country for every plot (alpha-2), instead of a column

    def describe(self) -> list[str]:
        """Which column fed which property, one sentence each (for the summary, in the language in use)."""
        lines = []
        for prop, column in (
            ("ProducerName", self.producer_name),
            ("ProducerCountry", self.producer_country),
            ("ProductionPlace", self.production_place),
        ):
            if prop == "ProducerCountry" and self.country is not None:
                lines.append(tr("ProducerCountry: {code} for every plot (--producer-country)", code=self.country))
            elif column is None:
                lines.append(tr("{property}: no column found (left out of the features)", property=prop))
            else:
                lines.append(tr("{property}: column {column}", property=prop, column=column))
        return lines


def _find(have: list[str], names: Iterable[str]) -> str | None:
    """The first of ``have`` whose name (or whose name after ``input_``) is one of ``names``, loosely."""
    folded: dict[str, str] = {}
    for column in have:
        folded.setdefault(fold(column), column)
    for column in have:
        if column.startswith("input_"):
            folded.setdefault(fold(column[len("input_") :]), column)
    for name in names:
        if fold(name) in folded:
            return folded[fold(name)]
    return None


def eudr_columns(columns: Iterable[str], cfg: ExportConfig, source: str = "screening") -> EudrColumns:
    """The column of each property. A column configured with another name than the default must
    exist (ConfigError naming those there are); else the default or a common name is looked for.
    ``--producer-country`` must name a country."""
    have = [str(c) for c in columns]
    fields = ExportConfig.model_fields
    picked: dict[str, str | None] = {}
    for prop, key in CONFIG_KEYS.items():
        name = getattr(cfg, key)
        if name is not None and name != fields[key].default:
            found = _find(have, [name])
            if found is None:
                raise ConfigError(
                    tr(
                        "{source}: no column {name!r} for {key} (the plots have: {have})",
                        source=source,
                        name=name,
                        key=key.replace("_column", ""),
                        have=", ".join(have),
                    )
                )
            picked[prop] = found
        else:
            picked[prop] = _find(have, PROPERTY_COLUMNS[prop])
    country = None
    if cfg.producer_country is not None:
        country = country_code(cfg.producer_country)
        if country is None:
            raise ConfigError(
                tr(
                    "producer_country {country!r} names no country (give an ISO 3166-1 code such as PE "
                    "or PER, or a name such as Peru)",
                    country=cfg.producer_country,
                )
            )
        picked["ProducerCountry"] = None
    return EudrColumns(picked["ProducerName"], picked["ProducerCountry"], picked["ProductionPlace"], country)
