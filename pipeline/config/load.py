"""Reading a YAML config file: UTF-8 only, a key given twice refused, overrides applied, paths
resolved against the file's folder. Nothing else in the package knows YAML."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, missing_file
from ..i18n import _, tr
from .run import RunConfig, _upgrade, build_config, set_dotted


def _decode(raw: bytes, path: Path) -> str:
    """The config's text: UTF-8 (a BOM is fine); any other encoding is refused, naming it."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            found = _("UTF-16 (Windows Notepad's 'Unicode')")
        else:
            try:
                raw.decode("cp1252")
                found = _("Windows-1252 or Latin-1")
            except UnicodeDecodeError:
                found = _("not UTF-8")
        byte = f"0x{raw[exc.start]:02x}"
        raise ConfigError(
            tr(
                "{path}: the configuration is not UTF-8 text: it looks like {found} (byte {byte} at position "
                "{position}); save it as UTF-8",
                path=path,
                found=found,
                byte=byte,
                position=exc.start,
            )
        ) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise ConfigError(
                    tr(
                        "{path}: the key {key!r} is given twice (lines {first} and {line}); YAML would keep the last "
                        "one silently: keep one",
                        path=self.name,
                        key=key,
                        first=seen[key],
                        line=line,
                    )
                )
            if isinstance(key, (str, int, float, bool)):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read a YAML config, apply ``overrides`` (dotted keys, e.g. ``screening.reference_year``),
    validate, and resolve relative paths against the file's folder (overrides: the current folder).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: {missing_file(path, 'configuration file')}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigError(f"{path}: {missing_file(path, 'configuration file')}") from None
        raise ConfigError(tr("{path}: cannot read the configuration ({error})", path=path, error=exc.strerror)) from exc
    text = _decode(raw, path)
    loader = _UniqueKeyLoader(text)
    loader.name = str(path)
    try:
        data = loader.get_single_data() or {}
    except yaml.YAMLError as exc:
        raise ConfigError(tr("{path}: not valid YAML ({error})", path=path, error=str(exc).replace("\n", " "))) from exc
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ConfigError(tr("{path}: expected a mapping of settings at the top level", path=path))
    data = _upgrade(data, str(path))
    base = path.resolve().parent
    if (overrides or {}).get("rasters.last_year") is not None and "datasets" in data:
        raise ConfigError(
            tr(
                "{path}: --last-year applies to a 'rasters' section; with 'datasets', set last_year for each "
                "dataset in the file",
                path=path,
            )
        )
    for dotted, value in (overrides or {}).items():
        if value is not None:
            set_dotted(data, dotted, value)
    return build_config(data, str(path)).resolve_paths(base)
