"""The landing page: the work waiting for this user, counted by status."""
from flask import g
from flask_appbuilder import IndexView, expose

from app.extensions import db
from app.services import overview
from app.services import status as st


class HomeView(IndexView):
    index_template = "home.html"

    @expose("/")
    def index(self):
        counts = overview.open_counts(db.session, g.user) if g.user and g.user.is_authenticated else None
        return self.render_template(self.index_template, appbuilder=self.appbuilder, counts=counts,
                                    statuses=[s for s in st.STATUSES if s in st.OPEN_STATUSES])
