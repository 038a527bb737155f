"""Languages: every text a person reads, in English or Spanish, through gettext catalogs.

The English text is the message id; ``pipeline/locale/<lang>/LC_MESSAGES/cacao_screen.po`` holds
its translation, managed with Babel (``make i18n`` extracts the ids and updates the catalogs;
``tools/i18n.py``), and the compiled ``.mo`` beside it ships in the package. There is no string
table in the code.

    from pipeline.i18n import _, ngettext, tr

    _("Interrupted; no output was written.")            # a sentence as it is
    tr("Screened {n} plots -> {path}", n=2003, path=p)  # translated, then formatted for the locale
    ngettext("{n} plot", "{n} plots", n)                # plural forms of the language

Which language: :func:`set_language` (``--lang``, ``output.language``), else the environment
(``LC_ALL``, ``LC_MESSAGES``, ``LANG``, the first that is set: ``es_*`` gives Spanish), else
English. Numbers and dates follow the language (:func:`format_number`, :func:`format_date`):
Spanish uses Peru's conventions, a decimal comma and a space between thousands (docs/i18n.md
cites the sources), and long dates as "2 de marzo de 2026".

Every module of pipeline may import this one; it imports nothing of pipeline.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gettext as _gettext
import os
import re
import string
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from numbers import Real
from pathlib import Path
from typing import Literal

#: The languages there is a catalog for (English is the message ids themselves).
LANGUAGES = ("en", "es")
DEFAULT = "en"
#: The gettext domain: ``pipeline/locale/<lang>/LC_MESSAGES/cacao_screen.mo``.
DOMAIN = "cacao_screen"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: The Babel locale of each language: its plural rules and dates (Spanish as written in Peru).
LOCALES = {"en": "en_US", "es": "es_PE"}
#: The environment variables that choose the language, in POSIX order of precedence.
ENV_VARS = ("LC_ALL", "LC_MESSAGES", "LANG")
#: Set by :func:`set_language` so that worker processes (spawned) speak the same language.
ENV_CHOICE = "CACAO_SCREEN_LANG"

#: Decimal mark and digit group separator per language. Spanish follows Peru's Sistema Legal de
#: Unidades de Medida (a decimal comma, digits grouped by three with a space), see docs/i18n.md.
_SYMBOLS = {"en": (".", ","), "es": (",", "\u00a0")}

_state: dict[str, str | None] = {"lang": None}


def language_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The language the environment asks for: the first of ``LC_ALL``, ``LC_MESSAGES``, ``LANG``
    that is set and not empty decides; ``es`` or ``es_*`` gives Spanish, anything else English."""
    env = os.environ if environ is None else environ
    for var in ENV_VARS:
        value = (env.get(var) or "").strip()
        if value:
            return "es" if value.split(".")[0].split("@")[0].split("_")[0].lower() == "es" else DEFAULT
    return DEFAULT


def normalise(lang: str | None) -> str | None:
    """``"es"``, ``"es_PE.UTF-8"``, ``"ES"`` → ``"es"``; None stays None. Raises :class:`ValueError`
    for a language without a catalog."""
    if lang is None or str(lang).strip() == "":
        return None
    code = str(lang).strip().split(".")[0].replace("-", "_").split("_")[0].lower()
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")
    return code


def set_language(lang: str | None) -> str:
    """Speak ``lang`` from now on (None: what the environment asks for, see :func:`language_from_env`).
    Returns the language chosen."""
    chosen = normalise(lang) or language_from_env()
    _state["lang"] = chosen
    os.environ[ENV_CHOICE] = chosen
    return chosen


def language() -> str:
    """The language in use: the one set, else the one a parent process set, else the environment's."""
    if _state["lang"] is None:
        _state["lang"] = normalise(os.environ.get(ENV_CHOICE)) or language_from_env()
    return str(_state["lang"])


@contextlib.contextmanager
def using(lang: str | None) -> Iterator[str]:
    """Speak ``lang`` inside the block (None: no change), then the language before it."""
    before = _state["lang"]
    chosen = normalise(lang) or language()
    _state["lang"] = chosen
    try:
        yield chosen
    finally:
        _state["lang"] = before


@contextlib.contextmanager
def session() -> Iterator[str]:
    """A command's run: the environment's language inside (until :func:`set_language`), then the
    language and the ``CACAO_SCREEN_LANG`` of before (a test calling ``main()`` leaves no trace)."""
    before, env_before = _state["lang"], os.environ.get(ENV_CHOICE)
    os.environ.pop(ENV_CHOICE, None)
    try:
        yield set_language(None)
    finally:
        _state["lang"] = before
        if env_before is None:
            os.environ.pop(ENV_CHOICE, None)
        else:
            os.environ[ENV_CHOICE] = env_before


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled catalog of ``lang`` (English, or a catalog not found: the ids themselves)."""
    if lang == DEFAULT:
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang], fallback=True)


def _(message: str) -> str:
    """``message`` (an English sentence, the message id) in the language in use."""
    return translations(language()).gettext(message)


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined (a table of texts), translated later by
    :func:`_` where it is shown."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for ``n`` in the language in use."""
    return translations(language()).ngettext(singular, plural, n)


def tr(message: str, /, **params) -> str:
    """``message`` translated, then its named placeholders filled, numbers as the language writes them."""
    return fmt(_(message), **params)


def ntr(singular: str, plural: str, n: int, /, **params) -> str:
    """:func:`ngettext` then :func:`fmt`; ``n`` is a placeholder too."""
    return fmt(ngettext(singular, plural, n), n=n, **params)


def _localise(text: str, lang: str) -> str:
    decimal, group = _SYMBOLS.get(lang, _SYMBOLS[DEFAULT])
    if (decimal, group) == _SYMBOLS[DEFAULT]:
        return text
    return text.translate({ord("."): decimal, ord(","): group})


class _Formatter(string.Formatter):
    """``str.format`` whose numbers take the decimal mark and digit groups of the language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def format_field(self, value, format_spec: str) -> str:
        if format_spec == "ha":  # an area: 4 decimals below 0.01 ha, else 2
            format_spec = ".4f" if abs(value) < 0.01 else ".2f"
        text = super().format_field(value, format_spec)
        if _is_number(type(value)):  # numpy numbers too
            return _localise(text, self.lang)
        return text


def fmt(text: str, /, *args, **params) -> str:
    """``text.format(**params)``, numbers written as the language in use writes them
    (``{x:.2f}`` → ``1234.50`` in English, ``1234,50`` in Spanish; ``{x:,.1f}`` groups digits;
    ``{x:ha}`` is an area in hectares: 4 decimals below 0.01 ha, else 2)."""
    return _Formatter(language()).vformat(text, args, params)


_NUMBER_TYPES: dict[type, bool] = {}


def _is_number(kind: type) -> bool:
    """Whether values of ``kind`` are numbers (numpy's too), not booleans; remembered by type."""
    known = _NUMBER_TYPES.get(kind)
    if known is None:
        known = _NUMBER_TYPES[kind] = issubclass(kind, Real) and not issubclass(kind, bool)
    return known


def formatter(text: str) -> Callable[..., str]:
    """``text`` (translated already: ``formatter(_("..."))``) as a function that fills its named
    placeholders as :func:`fmt` does, for many rows: translate a message once per call, then fill it
    per row (``str.format`` itself in English; the template parsed once otherwise, its numbers
    written with the language's marks)."""
    lang = language()
    if lang == DEFAULT and ":ha}" not in text:
        return text.format
    decimal, group = _SYMBOLS.get(lang, _SYMBOLS[DEFAULT])
    table = {ord("."): decimal, ord(","): group}
    parts = list(string.Formatter().parse(text))

    def fill(**params) -> str:
        out = []
        for literal, name, given, conversion in parts:
            out.append(literal)
            if name is None:
                continue
            spec = given or ""
            value = params[name]
            if conversion:
                value = repr(value) if conversion == "r" else ascii(value) if conversion == "a" else str(value)
            if _is_number(type(value)):
                if spec == "ha":  # an area: 4 decimals below 0.01 ha, else 2
                    spec = ".4f" if abs(value) < 0.01 else ".2f"
                out.append(format(value, spec).translate(table))
            else:
                out.append(format(value, spec))
        return "".join(out)

    return fill


#: A number already written as text in the English way ("1,234", "-0.5", "12,345.67").
_NUMBER_TEXT = re.compile(r"[-+]?\d{1,3}(?:,\d{3})*(?:\.\d+)?|[-+]?\d+(?:\.\d+)?")


def localised_number_text(value):
    """``value`` with its decimal mark and digit groups in the language in use when it is a number
    written as text the English way ("1,234.5" -> "1 234,5"); anything else as it is."""
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value):
        return _localise(value, language())
    return value


class Message(str):
    """A translated sentence whose ``format`` writes numbers as the language does — numbers given
    as numbers, and numbers already written as text the English way (``f"{n:,}"``)."""

    def format(self, *args, **params) -> str:
        args = tuple(localised_number_text(a) for a in args)
        return fmt(str(self), *args, **{k: localised_number_text(v) for k, v in params.items()})


class Texts(Mapping[str, str]):
    """A table of English sentences by key (each marked ``N_`` for ``make i18n``) that gives each
    one translated into the language in use when it is looked up, as a :class:`Message`."""

    def __init__(self, texts: Mapping[str, str]) -> None:
        self._texts = dict(texts)

    def __getitem__(self, key: str) -> str:  # a Message: its format writes numbers as the language does
        return Message(_(self._texts[key]))

    def __iter__(self):
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)


def format_number(value: float, digits: int = 2, grouping: bool = True) -> str:
    """``value`` with ``digits`` decimals, in the language in use (``4,843.48`` / ``4 843,48``)."""
    return _localise(f"{value:{',' if grouping else ''}.{digits}f}", language())


def format_date(value: _dt.date | str, form: str = "long") -> str:
    """A date as the language writes it: ``March 2, 2026`` / ``2 de marzo de 2026`` (``form``:
    Babel's ``short``, ``medium``, ``long`` or ``full``). A text is read as ISO (``2026-03-02``)."""
    from babel.dates import format_date as babel_date

    if isinstance(value, str):
        value = _dt.date.fromisoformat(value[:10])
    return str(babel_date(value, format=form, locale=LOCALES[language()]))


def format_list(items: list[str], style: Literal["standard", "or"] = "standard") -> str:
    """``a, b and c`` / ``a, b y c`` (``style="or"``: ``a, b or c`` / ``a, b o c``)."""
    from babel.lists import format_list as babel_list

    return str(babel_list(list(items), style=style, locale=LOCALES[language()])) if items else ""
