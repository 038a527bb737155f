"""What every config section shares: frozen models refusing unknown keys, output names,
relative paths resolved against a base folder."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
)

from ..i18n import tr


class _Section(BaseModel):
    """A config section: unknown keys are errors; values never change once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _gpkg_only(path: Path, what: str) -> Path:
    """Refuse an output name whose extension says another format (it would get a GeoPackage)."""
    if Path(path).suffix.lower() != ".gpkg":
        raise ValueError(
            tr(
                "{path}: the {what} is written as a GeoPackage; name it .gpkg (for CSV, GeoParquet, "
                "FlatGeobuf, GeoJSON or the EUDR GeoJSON, run `cacao-screen export` on the GeoPackage)",
                path=path,
                what=what,
            )
        )
    return path


#: A product or a grouping name: it prefixes output columns.
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _fix(p: str | Path, base: Path) -> Path:
    p = Path(p).expanduser()
    return Path(os.path.normpath(p if p.is_absolute() else base / p))


def _fix_spec(spec: Any, base: Path) -> Any:
    if isinstance(spec, list):
        return [_fix_spec(s, base) for s in spec]
    if re.match(r"^(?:[a-z][a-z0-9+.-]*://|/vsi)", str(spec), re.IGNORECASE):
        return str(spec)
    return str(_fix(spec, base))
