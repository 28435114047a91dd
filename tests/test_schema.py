"""Models and migrations are the same schema; migrations go up and down cleanly."""
from sqlalchemy import inspect

from app.extensions import db
from app.models.knowledge import schema_names
from tests.conftest import make_app


def test_models_match_migrations(app):
    """What `flask db check` checks, asserted on the differences themselves."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": schema_names})
        diff = compare_metadata(context, db.metadata)
    assert diff == []
    result = app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_the_check_notices_a_model_without_migration(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import Column, Integer, MetaData, Table

    extra = MetaData()
    for table in db.metadata.tables.values():
        table.to_metadata(extra)
    Table("not_migrated", extra, Column("id", Integer, primary_key=True))
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True,
                                                                        "include_name": schema_names}), extra)
    assert [d[0] for d in diff] == ["add_table"]


def test_upgrade_downgrade_upgrade_on_a_fresh_database(tmp_path_factory):
    fresh = make_app(tmp_path_factory, "sqlite", "roundtrip")
    runner = fresh.test_cli_runner()
    for args in (["db", "upgrade"], ["db", "downgrade", "base"], ["db", "upgrade"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output)
    with fresh.app_context():
        tables = set(inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert {"ticket", "ticket_event", "customer", "asset", "stock_move", "ab_user"} <= tables


def test_init_is_idempotent_and_keeps_admin_edits(app):
    import logging

    from app.models import Category

    runner = app.test_cli_runner()
    with app.app_context():
        category = db.session.query(Category).filter_by(code="fault").one()
        category.name_zh = "设备故障"
        db.session.commit()
    # An upgrade that warns every time teaches the admin to ignore its warnings: FAB's permission pass logged
    # "Refused to delete permission view" for every name two views share. (Alembic's logging set-up switches
    # FAB's logger off in a test process, so it is listened to directly.)
    fab_log, heard = logging.getLogger("flask_appbuilder.security.sqla.manager"), []
    listener = logging.Handler(logging.WARNING)
    listener.emit = heard.append
    was_disabled, fab_log.disabled = fab_log.disabled, False
    fab_log.addHandler(listener)
    try:
        result = runner.invoke(args=["init"])
    finally:
        fab_log.removeHandler(listener)
        fab_log.disabled = was_disabled
    assert result.exit_code == 0, result.output
    assert not [r.getMessage() for r in heard]
    assert "Admin login 'admin' is ready." in result.output or "Admin login:" in result.output
    with app.app_context():
        assert db.session.query(Category).filter_by(code="fault").one().name_zh == "设备故障"
        db.session.query(Category).filter_by(code="fault").one().name_zh = "故障报修"
        db.session.commit()


def test_the_open_queue_index_covers_exactly_the_open_statuses(app):
    """PostgreSQL uses migration 0017's partial index for 在办工单 only while its condition lists the statuses
    the list asks for: a change to OPEN_STATUSES needs a migration that rebuilds the index."""
    import importlib.util
    import os

    from app.services import status as st

    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations", "versions",
                        "0017_open_queue_index.py")
    spec = importlib.util.spec_from_file_location("migration_0017", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert migration.OPEN_STATUSES == tuple(sorted(st.OPEN_STATUSES))
    with app.app_context():
        names = {i["name"] for i in inspect(db.engine).get_indexes("ticket")}
    assert (migration.NAME in names) == (app.config["DB_KIND"] == "postgresql")
