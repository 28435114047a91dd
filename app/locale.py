"""Locale choice. The console follows FAB (?_l_=, then the language switch, then zh); API callers
without a browser session may also say what they read with Accept-Language."""
from flask import current_app, has_request_context, request


def install_locale_selector(app) -> None:
    babel = app.extensions["babel"]
    console_selector = babel.locale_selector

    def select_locale():
        if has_request_context() and request.path.startswith("/api/") and "_l_" not in request.args:
            best = request.accept_languages.best_match(list(current_app.config["LANGUAGES"]))
            if best:
                return best
        return console_selector()

    babel.locale_selector = select_locale
