"""Counting the SQL statements one request runs, to show that a longer page costs no more queries (no
per-row loading, "N+1")."""
from collections import Counter

from sqlalchemy import event

from app.extensions import db
from app.services import rules

# Caches that expire with time (the rules' 2 s freshness check, the scheduler banner's 10 s) may ask on any
# page: not a per-row cost.
NOT_PER_ROW = ("count(classification_rule.id)", "scheduler_heartbeat")


class Statements:
    def __init__(self, app, session):
        self.app, self.session, self.seen = app, session, []

    def _count(self, conn, cursor, statement, *args):
        if not any(part in statement for part in NOT_PER_ROW):
            self.seen.append(statement)

    def of(self, client, url, status=200) -> list[str]:
        """The statements the second of two identical requests runs (the first warms what is cached)."""
        with self.app.app_context():
            engine = db.engine
        self.session.close()  # the requests share the test's session: nothing may come from its identity map
        # Once uncounted, with the rules rebuilt: a configuration an earlier test changed outside the ORM would
        # otherwise be noticed (and the rules recompiled) whenever their freshness check next runs — possibly
        # in the counted request, which is not this page's cost.
        rules.forget()
        assert client.get(url).status_code == status, url
        self.session.close()
        event.listen(engine, "before_cursor_execute", self._count)
        try:
            self.seen = []
            assert client.get(url).status_code == status, url
            return list(self.seen)
        finally:
            event.remove(engine, "before_cursor_execute", self._count)


def extra(first, second) -> list[str]:
    """The statements the bigger page ran more often than the smaller one, to say in full what went wrong."""
    more = Counter(second) - Counter(first)
    return [f"{n}x {statement[:600]}" for statement, n in more.items()]
