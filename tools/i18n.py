"""The message catalogs: extract every text a person reads, update the translations, compile them.

    python tools/i18n.py           # what `make i18n` runs: extract, update the .po files, compile the .mo
    python tools/i18n.py --check   # exit 1 when a catalog is out of step with the code (make lint)

Messages come from two places, both read with Babel:

* the source: ``_()``, ``N_()``, ``tr()``, ``ngettext()``, ``ntr()`` and the column tables' ``_c(names,
  meaning)`` calls in ``pipeline/`` (Babel's Python extractor);
* the command line: every command's help and every option's help of the ``cacao-screen`` command
  tree (generated from the config models, so not literal ``_()`` calls in the code).

Each language's catalog ``pipeline/locale/<lang>/LC_MESSAGES/cacao_screen.po`` is updated from
them (new ids added with an empty translation, ids gone dropped; never fuzzy-matched) and compiled
to ``cacao_screen.mo`` beside it. The compiled file depends only on the ``.po`` file (no dates), so
it can be rebuilt identically.
"""

from __future__ import annotations

import io
import sys
from datetime import datetime, timezone
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, LOCALES  # noqa: E402

KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "tr": None, "ntr": (1, 2), "_c": (2,), "translate": None}
HEADER = "# The messages of cacao-screen. Update with `make i18n`; see docs/i18n.md.\n"


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    return po_path(lang).with_suffix(".mo")


def _cli_texts() -> list[tuple[str, str]]:
    """(text, where) of every help text of the command line."""
    import click

    from pipeline.cli import cli

    out: list[tuple[str, str]] = []

    def walk(cmd: click.Command, path: str) -> None:
        for text in (cmd.help, cmd.short_help, cmd.epilog):
            if text:
                out.append((text, f"cli:{path}"))
        for param in cmd.params:
            help_text = getattr(param, "help", None)
            if help_text:
                out.append((help_text, f"cli:{path} {param.name}"))
        if isinstance(cmd, click.Group):
            for name, sub in sorted(cmd.commands.items()):
                walk(sub, f"{path} {name}")

    walk(cli, "cacao-screen")
    return out


def template() -> Catalog:
    """Every message id of the code and the command line."""
    catalog = Catalog(project="cacao-screen", domain=DOMAIN, fuzzy=False)
    method_map = [("pipeline/**.py", "python")]
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, keywords=KEYWORDS, comment_tags=("i18n:",), strip_comment_tags=True
    ):
        if isinstance(message, tuple) and not all(message):
            continue
        if not message:
            continue
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    for text, where in _cli_texts():
        if text not in catalog:
            catalog.add(text, None, [(where, 0)])
    return catalog


def _po_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, omit_header=False, sort_output=False, no_location=True, include_previous=False)
    data = _without_dates(buf.getvalue())
    while data.startswith(HEADER.encode()):  # read back from an earlier run: once is enough
        data = data[len(HEADER) :]
    return HEADER.encode() + data


def _without_dates(data: bytes) -> bytes:
    """The catalog without the creation and revision dates Babel writes (they would change the
    file, and the compiled catalog, on every run)."""
    dated = (b'"POT-Creation-Date', b'"PO-Revision-Date', b'"Generated-By')
    lines = [ln for ln in data.split(b"\n") if not ln.startswith(dated)]
    return b"\n".join(lines)


#: The dates a compiled catalog's header carries: fixed, so that the same .po gives the same .mo.
FIXED_DATE = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _mo_bytes(catalog: Catalog) -> bytes:
    catalog.creation_date = catalog.revision_date = FIXED_DATE
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def read(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=LOCALES[lang], domain=DOMAIN, project="cacao-screen", fuzzy=False)
    with open(path, "rb") as f:
        return read_po(f, locale=LOCALES[lang], domain=DOMAIN)


def updated(lang: str, tmpl: Catalog) -> Catalog:
    """``lang``'s catalog with the template's ids: translations kept, new ids empty, old ids dropped."""
    catalog = read(lang)
    catalog.update(tmpl, no_fuzzy_matching=True, update_header_comment=False)
    catalog.obsolete.clear()
    catalog.fuzzy = False
    return catalog


def compiled(lang: str) -> bytes:
    """The ``.mo`` bytes of ``lang``'s ``.po`` as it is."""
    return _mo_bytes(read(lang))


def translated(message) -> bool:
    """Whether a catalog entry has its translation (every plural form of it)."""
    return bool(message.string) if isinstance(message.string, str) else all(message.string)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    tmpl = template()
    stale = []
    targets: dict[Path, bytes] = {}
    for lang in LANGUAGES:
        if lang == "en":
            continue
        catalog = updated(lang, tmpl)
        targets[po_path(lang)] = _po_bytes(catalog)
        targets[mo_path(lang)] = _mo_bytes(catalog)
    for path, data in targets.items():
        if not path.exists() or path.read_bytes() != data:
            stale.append(str(path.relative_to(ROOT)))
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
    if check and stale:
        print("message catalogs out of step with the code: " + ", ".join(stale) + "; run `make i18n`")
        return 1
    if not check:
        print("updated: " + (", ".join(stale) or "nothing (already in step)"))
        for lang in LANGUAGES[1:]:
            missing = [m.id for m in read(lang) if m.id and not translated(m)]
            if missing:
                print(f"{lang}: {len(missing)} message(s) without a translation, e.g. {missing[0]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
