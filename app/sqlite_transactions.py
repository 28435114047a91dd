"""SQLite: savepoints inside a real transaction.

Python's sqlite3 driver only opens a transaction before INSERT/UPDATE/DELETE. A SAVEPOINT issued before
any of those starts a transaction of its own, and releasing it commits — so work a caller meant to roll
back (a refused request, a failed batch) would already be stored. Opening the transaction first keeps the
savepoint nested, as it is on PostgreSQL. (SQLAlchemy documents the driver's behaviour under "pysqlite
serializable isolation / savepoints".)
"""
from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "savepoint")
def _begin_before_savepoint(conn, name):
    if conn.dialect.name != "sqlite":
        return
    dbapi_connection = conn.connection.dbapi_connection
    if not dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN")
