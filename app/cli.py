"""CLI: `flask --app app init` and `flask --app app demo seed`. Thin: the work is in app.services."""
import os

import click
from flask import current_app
from flask.cli import with_appcontext

from app.extensions import db


@click.command("init")
@with_appcontext
def init_command():
    """Upgrade the database, sync roles and permissions, create the admin (idempotent)."""
    from flask_migrate import upgrade

    from app.services.bootstrap import ensure_admin, ensure_reference_data
    from app.services.errors import ServiceError
    from app.services.roles import sync_roles

    upgrade()
    appbuilder = current_app.appbuilder
    unknown = sync_roles(appbuilder)
    for role, perm, view in unknown:
        click.secho(f"warning: role {role} grants unknown permission {perm} on {view}", fg="yellow")
    ensure_reference_data(db.session)
    from app.services.default_sla import ensure_default_sla

    ensure_default_sla(db.session, appbuilder.sm)
    _index_resolved_tickets(only_missing=True)
    cfg = current_app.config
    try:
        generated = ensure_admin(appbuilder.sm, cfg["ADMIN_USERNAME"], cfg.get("ADMIN_PASSWORD"), cfg["ADMIN_EMAIL"],
                                 min_length=cfg["PASSWORD_MIN_LENGTH"])
    except ServiceError as exc:
        raise click.ClickException(f"{exc.field}: {exc}")
    # Kept so that `make run` can show the login again; production sets ADMIN_PASSWORD instead.
    password_file = os.path.join(cfg["INSTANCE_DIR"], "admin_password")
    if generated:
        with open(password_file, "w") as fh:
            fh.write(generated + "\n")
        os.chmod(password_file, 0o600)
        click.secho(f"Admin login created: {cfg['ADMIN_USERNAME']} / {generated}", fg="green", bold=True)
        click.echo(f"(set ADMIN_PASSWORD to choose your own; also saved in {password_file})")
    elif os.path.exists(password_file) and not cfg.get("ADMIN_PASSWORD"):
        with open(password_file) as fh:
            click.secho(f"Admin login: {cfg['ADMIN_USERNAME']} / {fh.read().strip()}", fg="green", bold=True)
    else:
        click.echo(f"Admin login {cfg['ADMIN_USERNAME']!r} is ready.")
    click.echo("Database, roles and permissions are up to date.")


def _index_resolved_tickets(*, only_missing: bool) -> None:
    """Resolved tickets without a similar-case search row (after an upgrade, or rows written past the ORM)."""
    from tqdm import tqdm

    from app.services import similar

    with tqdm(unit="ticket", desc="similar-case index", disable=None, leave=False) as bar:
        done = similar.reindex(db.session, only_missing=only_missing, progress=bar.update)
    if done or not only_missing:
        click.echo(f"Similar-case search: {done} resolved ticket(s) indexed.")


@click.group("search")
def search_group():
    """The similar-case search index of resolved tickets."""


@search_group.command("reindex")
@click.option("--all", "rebuild", is_flag=True, help="Rebuild every row, not only the missing ones.")
@with_appcontext
def search_reindex_command(rebuild):
    """Index resolved tickets for similar-case search (after bulk loads or a change to the segmentation)."""
    _index_resolved_tickets(only_missing=not rebuild)


@click.group("demo")
def demo_group():
    """Demo data."""


@demo_group.command("seed")
@click.option("--tickets", "ticket_count", type=click.IntRange(min=0), default=None,
              help="Also bulk-generate this many extra tickets (fast, with a progress bar).")
@click.option("--seed", "random_seed", type=int, default=20261122, show_default=True,
              help="Random seed, for repeatable data.")
@with_appcontext
def demo_seed_command(ticket_count, random_seed):
    """Create realistic demo data and one demo login per role (idempotent)."""
    from tqdm import tqdm

    from app.services import demo

    appbuilder = current_app.appbuilder
    result = demo.seed(db.session, appbuilder.sm, random_seed=random_seed)
    if result.created:
        click.echo(f"Demo data created: {result.summary()}")
    else:
        click.echo("Demo data already present.")
    click.echo("Demo logins (demo only — change or remove them in production):")
    for username, password, role in demo.DEMO_LOGINS:
        click.echo(f"  {role:<10} {username} / {password}")
    if ticket_count:
        with tqdm(total=ticket_count, unit="ticket", desc="tickets") as bar:
            rate = demo.bulk_tickets(db.session, ticket_count, random_seed=random_seed, progress=bar.update)
        click.echo(f"{ticket_count} tickets generated ({rate:,.0f} tickets/s).")


@click.group("scheduler")
def scheduler_group():
    """The scheduler process and its jobs."""


@scheduler_group.command("run")
@with_appcontext
def scheduler_run_command():
    """Run the scheduler in the foreground until stopped."""
    import logging

    from app.scheduler import run_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_forever(current_app._get_current_object())


@scheduler_group.command("tick")
@click.option("--now", "now_text", default=None, help="Pretend it is this time (ISO 8601; default: now).")
@click.option("--job", "job_ids", multiple=True, help="Run only this job (repeatable); default: every job.")
@with_appcontext
def scheduler_tick_command(now_text, job_ids):
    """Run every job (or the given ones) once and exit."""
    from datetime import datetime

    from app.scheduler import tick
    from app.timeutil import as_utc

    now = None
    if now_text:
        try:
            now = as_utc(datetime.fromisoformat(now_text))
        except ValueError:
            raise click.BadParameter("expected ISO 8601, e.g. 2026-11-22T10:00:00+08:00", param_hint="--now")
    from app.scheduler import JOBS

    unknown = set(job_ids) - {job.id for job in JOBS}
    if unknown:
        raise click.BadParameter(f"unknown job {sorted(unknown)[0]!r}; jobs: {', '.join(j.id for j in JOBS)}",
                                 param_hint="--job")
    for job_id, handled in tick(current_app._get_current_object(), now, only=job_ids).items():
        click.echo(f"{job_id}: {handled}")


def register_cli(app) -> None:
    app.cli.add_command(scheduler_group)
    app.cli.add_command(init_command)
    app.cli.add_command(demo_group)
    from app.cli_spreadsheets import export_command, import_command  # Excel import/export

    app.cli.add_command(import_command)
    app.cli.add_command(export_command)
    app.cli.add_command(search_group)
