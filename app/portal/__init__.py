"""The customer self-service portal (/portal): submit a request, follow it, answer, confirm or reopen, and
rate the service. Mobile-first pages of their own (no console chrome), Chinese by default."""


def register_portal(app) -> None:
    from app.portal import ratelimit
    from app.portal.views import bp

    ratelimit.install(app)
    app.register_blueprint(bp)
