"""The Korean and Japanese catalogs are complete and safe to format.

Fails when a UI string is added without a translation (the check re-extracts the message ids
from the code, as translations/README.md does), when a translation is empty or still fuzzy,
or when a translation's ``%(name)s`` placeholders differ from its msgid's: a broken
placeholder raises at runtime, and newstyle Jinja gettext formats every template string.
"""
from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
LANGUAGES = ("ko", "ja")
# the extraction command of translations/README.md (its default keywords include _ and gettext)
EXTRACT = ["extract", "-F", "babel.cfg", "-k", "N_", "-k", "gettext", "-k", "ngettext:1,2",
           "--no-location", "--omit-header"]

PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?([a-zA-Z])")
SAMPLE = {"d": 7, "i": 7, "f": 1.5, "s": "x", "r": "x"}


def _catalog(path: Path, lang: str | None = None):
    with path.open("rb") as f:
        return read_po(f, locale=lang)


def _key(message):
    """(context, singular msgid): how a catalog looks a message up."""
    msgid = message.id if isinstance(message.id, str) else message.id[0]
    return message.context, msgid


def _pairs(message):
    """(msgid, msgstr) pairs to compare, one per plural form."""
    if isinstance(message.id, str):
        return [(message.id, message.string)]
    ids, strings = message.id, message.string
    return [(ids[min(i, len(ids) - 1)], s) for i, s in enumerate(strings)]


def _placeholders(text: str) -> set[tuple[str, str]]:
    return set(PLACEHOLDER.findall(text))


def _formats(text: str, params: dict) -> bool:
    try:
        text % params
    except (KeyError, ValueError, TypeError):
        return False
    return True


@pytest.fixture(scope="module", params=LANGUAGES)
def catalog(request):
    path = TRANSLATIONS / request.param / "LC_MESSAGES" / "messages.po"
    assert path.exists(), f"{path} is missing; see translations/README.md"
    return _catalog(path, request.param)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The message ids the code has now, freshly extracted with pybabel."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *EXTRACT, "-o", str(pot),
                    "."], cwd=ROOT, check=True, capture_output=True)
    return _catalog(pot)


def test_every_message_is_translated_and_not_fuzzy(catalog):
    untranslated = [m.id for m in catalog if m.id and not all(s for _, s in _pairs(m))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not untranslated, f"{catalog.locale}: empty msgstr for {untranslated}"
    assert not fuzzy, f"{catalog.locale}: fuzzy (check, fix, then drop the flag) {fuzzy}"


def test_placeholders_match_the_msgid(catalog):
    broken = []
    for message in catalog:
        if not message.id:
            continue
        for msgid, msgstr in _pairs(message):
            params = {name: SAMPLE.get(kind, "x") for name, kind in PLACEHOLDER.findall(msgid)}
            if (_placeholders(msgstr) != _placeholders(msgid)
                    or _formats(msgid, params) != _formats(msgstr, params)
                    or msgstr.count("%%") != msgid.count("%%")):
                broken.append((msgid, msgstr))
    assert not broken, f"{catalog.locale}: placeholders differ from the msgid: {broken}"


def test_babel_checkers_pass(catalog):
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert not problems, f"{catalog.locale}: {problems}"


def test_catalog_compiles_and_translates(catalog):
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    translations = Translations(buffer)
    assert translations.gettext("Log in") != "Log in"
    assert translations.gettext("Order CS") != "Order CS"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_ui_string_is_missing_from_the_catalog(extracted, lang):
    catalog = _catalog(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", lang)
    known = {_key(m) for m in catalog if m.id}
    missing = sorted(msgid for context, msgid in (_key(m) for m in extracted if m.id)
                     if (context, msgid) not in known)
    assert not missing, (
        f"{lang}: {len(missing)} UI string(s) not in translations/{lang}: {missing}. "
        "Run the update of translations/README.md and fill the new msgstr.")
