"""Login locks: FAB counts a login's failed attempts in a row (ab_user.fail_login_count) but keeps no time
for them, so the end of a lock is kept here (app.services.logins)."""
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from flask_appbuilder import Model


class LoginLock(Model):
    __tablename__ = "login_lock"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("ab_user.id", name="fk_login_lock_user", ondelete="CASCADE"), primary_key=True)
    locked_until: Mapped[datetime] = mapped_column(DateTime, nullable=False)
