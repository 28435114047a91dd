"""SQLite: write-ahead logging, foreign keys enforced, and savepoints inside a real transaction.

WAL lets the web workers and the scheduler read while one of them writes (the default rollback journal
makes every reader wait for, and block, the writer's commit).

SQLite checks foreign keys only when each connection asks it to: without that, deleting a customer who has
tickets left the tickets pointing at nobody (PostgreSQL refuses it, and the console and the API say why), and
ON DELETE CASCADE / SET NULL did nothing. Migrations switch it off while they rebuild tables (migrations/env.py).

Python's sqlite3 driver only opens a transaction before INSERT/UPDATE/DELETE. A SAVEPOINT issued before
any of those starts a transaction of its own, and releasing it commits — so work a caller meant to roll
back (a refused request, a failed batch) would already be stored. Opening the transaction first keeps the
savepoint nested, as it is on PostgreSQL. (SQLAlchemy documents the driver's behaviour under "pysqlite
serializable isolation / savepoints".)
"""
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _write_ahead_log(dbapi_connection, connection_record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


@event.listens_for(Engine, "savepoint")
def _begin_before_savepoint(conn, name):
    if conn.dialect.name != "sqlite":
        return
    dbapi_connection = conn.connection.dbapi_connection
    if not dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN")
