"""The domain. Plain functions over a SQLAlchemy Session; no Flask request state; time passed as `now`."""
