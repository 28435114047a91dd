"""The catalogues: every user-facing string extracted, translated into Chinese, and compiled."""
import io
import os

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def _catalog(lang):
    with open(os.path.join(ROOT, "translations", lang, "LC_MESSAGES", "messages.po"), "rb") as fh:
        return read_po(fh, locale=lang)


def _source_ids():
    method_map = [("app/**.py", "python"), ("app/templates/**.html", "jinja2")]
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(ROOT, method_map, keywords=KEYWORDS):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_every_source_string_is_in_the_catalogues():
    source = _source_ids()
    assert source, "extraction found nothing: the test would prove nothing"
    for lang in ("zh", "en"):
        missing = sorted(source - {m.id for m in _catalog(lang) if m.id})
        assert not missing, f"run `make babel` and translate: {missing[:10]}"


def test_chinese_catalogue_has_no_untranslated_or_fuzzy_entry():
    todo = [m.id for m in _catalog("zh") if m.id and (m.fuzzy or not m.string)]
    assert not todo, todo[:10]


def test_compiled_catalogues_match_their_sources():
    for lang in ("zh", "en"):
        compiled = io.BytesIO()
        write_mo(compiled, _catalog(lang))
        compiled.seek(0)
        fresh = {m.id: m.string for m in read_mo(compiled) if m.id}
        with open(os.path.join(ROOT, "translations", lang, "LC_MESSAGES", "messages.mo"), "rb") as fh:
            shipped = {m.id: m.string for m in read_mo(fh) if m.id}
        assert fresh == shipped, f"translations/{lang} .mo is stale: run `make babel`"


def test_status_names_render_in_the_readers_language(app):
    from flask_babel import force_locale

    from app.services import status as st

    with app.app_context():
        with force_locale("zh"):
            assert st.label(st.WAITING_PARTS) == "等待备件"
        with force_locale("en"):
            assert st.label(st.WAITING_PARTS) == "Waiting for parts"
