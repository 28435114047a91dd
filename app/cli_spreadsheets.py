"""CLI: `flask --app app import|export <kind> FILE` (the design's contract) — Excel with a progress bar.
Thin: the work is in app.services.spreadsheets."""
import os

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l

from app.extensions import db

KIND_NAMES = ("customers", "assets", "parts", "stock")
SHOWN_ERRORS = 50  # the rest are in --report
# The progress bars' labels, in the language of --lang like the messages. (--help stays English, as Flask's
# own: click renders it before the app and its language are there.)
PHASES = {"read": _l("read"), "check": _l("check"), "write": _l("write"), "export": _l("export")}


def _language_option(command):
    return click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
                        help="Language of headers and messages (default: the console's default language).")(command)


@click.command("export")
@click.argument("kind", type=click.Choice(KIND_NAMES))
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@_language_option
@with_appcontext
def export_command(kind, path, lang):
    """Write every row of KIND to the workbook PATH (.xlsx)."""
    from flask_babel import force_locale
    from flask_babel import gettext as _
    from tqdm import tqdm

    from app.services import spreadsheets

    sheet = spreadsheets.KINDS[kind]
    with force_locale(lang or current_app.config["BABEL_DEFAULT_LOCALE"]):
        total = sheet.count(db.session)
        with tqdm(total=total, unit=str(_l("row")), desc=str(PHASES["export"])) as bar:
            written = spreadsheets.export(db.session, sheet, path, progress=lambda n: bar.update(n - bar.n))
        click.echo(_("%(count)s rows written to %(path)s.", count=written, path=path))


@click.command("import")
@click.argument("kind", type=click.Choice(KIND_NAMES))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row and report, write nothing.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, writable=True), default=None,
              help="When rows are wrong, also write them with their errors to this workbook.")
@click.option("--user", "username", default=None, help="Login recorded on stock movements (default: none).")
@_language_option
@with_appcontext
def import_command(kind, path, dry_run, report_path, username, lang):
    """Import the workbook PATH (.xlsx) into KIND: all rows or, if any row is wrong, none (exit code 1)."""
    from flask_babel import force_locale
    from flask_babel import gettext as _
    from sqlalchemy import select

    from app.models import User
    from app.services import spreadsheets
    from app.timeutil import utcnow

    sheet = spreadsheets.KINDS[kind]
    limits = spreadsheets.Limits(max_rows=current_app.config["IMPORT_MAX_ROWS"],
                                 max_bytes=current_app.config["IMPORT_MAX_KB"] * 1024)
    with force_locale(lang or current_app.config["BABEL_DEFAULT_LOCALE"]):
        actor = None
        if username:
            actor = db.session.scalar(select(User).where(User.username == username))
            if actor is None:
                raise click.BadParameter(_("There is no login named %(name)s.", name=username), param_hint="--user")
        try:
            result = _run_with_bar(spreadsheets.import_sheet(
                db.session, sheet, path, filename=os.path.basename(path), now=utcnow(), actor=actor,
                dry_run=dry_run, limits=limits))
        except spreadsheets.FileProblem as problem:
            db.session.rollback()
            raise click.ClickException(str(problem)) from None
        if not result.ok:
            db.session.rollback()
            _print_errors(result)
            if report_path:
                spreadsheets.write_error_report(db.session, sheet, path, report_path, filename=os.path.basename(path),
                                                now=utcnow(), limits=limits)
                click.echo(_("The rows with their errors are in %(path)s.", path=report_path), err=True)
            raise SystemExit(1)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
        click.echo(_summary(result))


def _run_with_bar(events):
    """Show one tqdm bar per step (read, check, write) as the import reports progress."""
    from tqdm import tqdm

    from app.services.spreadsheets import Finished

    bar, phase = None, None
    try:
        for event in events:
            if isinstance(event, Finished):
                return event.result
            if event.phase != phase:
                if bar is not None:
                    bar.close()
                phase = event.phase
                bar = tqdm(total=event.total, unit=str(_l("row")), desc=str(PHASES.get(phase, phase)))
            if event.total is not None and bar.total != event.total:
                bar.total = event.total
            bar.update(event.done - bar.n)
    finally:
        if bar is not None:
            bar.close()
    raise RuntimeError("the import ended without a result")


def _print_errors(result) -> None:
    from flask_babel import gettext as _

    click.secho(_("%(count)s problems found: nothing was imported.", count=len(result.errors)), fg="red", err=True)
    for error in result.errors[:SHOWN_ERRORS]:
        click.echo(error.sentence(), err=True)
    if len(result.errors) > SHOWN_ERRORS:
        click.echo(_("… and %(count)s more (write them all with --report FILE).",
                     count=len(result.errors) - SHOWN_ERRORS), err=True)


def _summary(result) -> str:
    from flask_babel import gettext as _

    counts = dict(rows=result.rows, created=result.created, updated=result.updated, unchanged=result.unchanged)
    if result.dry_run:
        return _("Checked %(rows)s rows, nothing written: %(created)s would be added, %(updated)s updated, "
                 "%(unchanged)s unchanged.", **counts)
    return _("Imported %(rows)s rows: %(created)s added, %(updated)s updated, %(unchanged)s unchanged.", **counts)
