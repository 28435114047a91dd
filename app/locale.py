"""Locale choice. The console follows FAB (?_l_=, then the language switch, then zh); API callers
without a browser session may also say what they read with Accept-Language. Portal visitors get what they
chose on the portal's switch, else what their browser asks for, else Chinese."""
from flask import current_app, has_request_context, request, session


def install_locale_selector(app) -> None:
    babel = app.extensions["babel"]
    console_selector = babel.locale_selector

    def select_locale():
        if has_request_context() and request.path.startswith("/portal"):
            languages = list(current_app.config["LANGUAGES"])
            chosen = request.args.get("_l_") or session.get("portal_locale")
            if chosen in languages:
                return chosen
            return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
        if has_request_context() and request.path.startswith("/api/") and "_l_" not in request.args:
            best = request.accept_languages.best_match(list(current_app.config["LANGUAGES"]))
            if best:
                return best
        return console_selector()

    babel.locale_selector = select_locale
