"""The customer self-service portal (/portal): submit a request, follow it, answer, confirm or reopen, and
rate the service. Mobile-first pages of their own (no console chrome), Chinese by default."""


def register_portal(app) -> None:
    from app.extensions import csrf
    from app.portal import ratelimit
    from app.portal.views import bp

    ratelimit.install(app)
    # Every portal post is a FlaskForm that checks its own token (views._valid), so that an expired page is
    # shown again with what the customer typed instead of CSRFProtect's bare 400 before the view runs.
    csrf.exempt(bp)
    app.register_blueprint(bp)
