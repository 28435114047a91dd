"""Excel import and export pages, one set per kind (客户, 资产, 备件, 库存), reached from the list views.

Progress: the browser posts the file with XMLHttpRequest (its upload events drive the bar while the file
travels); the answer is a stream of NDJSON lines — one per thousand rows checked or written, then the
result rendered as HTML. One request does the whole import in one transaction, so there is no job to store,
poll or clean up, and a closed tab rolls everything back. Without JavaScript the same form posts normally
and the page comes back with the result. The work is in app.services.spreadsheets."""
import json
import logging
import os
import tempfile
from itertools import chain

from flask import Response, current_app, g, request, send_file, stream_with_context, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.urltools import get_filter_args
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from app.extensions import db
from app.services import spreadsheets
from app.services.spreadsheets import FileProblem, Finished, Limits
from app.services.spreadsheets.exporting import RULES
from app.timeutil import to_local, utcnow

log = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NDJSON = "application/x-ndjson"
SHOWN_ERRORS = 200  # on the page; the downloadable report has all of them


def limits() -> Limits:
    cfg = current_app.config
    return Limits(max_rows=int(cfg["IMPORT_MAX_ROWS"]),
                  max_bytes=int(cfg["IMPORT_MAX_KB"]) * 1024)


class SpreadsheetView(BaseView):
    """Import page, upload, error report, blank template and export for one kind."""

    kind = ""               # a key of spreadsheets.KINDS
    list_view = ""          # the list it belongs to: its filters narrow the export, its page is "back"
    default_view = "upload"
    method_permission_name = {"upload": "import", "run": "import", "report": "import", "template": "import",
                              "export": "export"}

    @property
    def sheet(self):
        return spreadsheets.KINDS[self.kind]

    # ---------------------------------------------------------------- pages

    @expose("/import", methods=["GET"])
    @has_access
    def upload(self):
        return self._page()

    @expose("/import", methods=["POST"])
    @has_access
    def run(self):
        streaming = NDJSON in request.headers.get("Accept", "")
        dry_run = request.form.get("dry_run") in ("y", "on", "1", "true")
        try:
            path, filename = self._saved_upload()
        except FileProblem as problem:
            return self._file_problem(problem, streaming)
        events = spreadsheets.import_sheet(db.session, self.sheet, path, filename=filename, now=utcnow(),
                                           actor=g.user, dry_run=dry_run, limits=limits())
        try:
            first = next(events)  # opening the file and finding its header: a file problem is a form error
        except FileProblem as problem:
            _discard(path)
            db.session.rollback()
            return self._file_problem(problem, streaming)
        except Exception:
            _discard(path)
            raise
        if streaming:
            response = Response(stream_with_context(self._stream(chain([first], events), path)), mimetype=NDJSON)
            response.headers["Cache-Control"] = "no-store"
            response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each line on as it comes
            return response
        try:
            result = next(e for e in chain([first], events) if isinstance(e, Finished)).result
            self._finish(result)
        except FileProblem as problem:  # damage found half-way through the file
            db.session.rollback()
            return self._file_problem(problem, False)
        finally:
            _discard(path)
        return self._page(result=result)

    @expose("/report", methods=["POST"])
    @has_access
    def report(self):
        """The uploaded file back, every row with what is wrong in it (checked again: nothing is stored)."""
        try:
            path, filename = self._saved_upload()
        except FileProblem as problem:
            return self._file_problem(problem, False)
        try:
            target = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
            spreadsheets.write_error_report(db.session, self.sheet, path, target, filename=filename, now=utcnow(),
                                            limits=limits())
        except FileProblem as problem:
            return self._file_problem(problem, False)
        finally:
            db.session.rollback()
            _discard(path)
        target.seek(0)
        stem = os.path.splitext(filename)[0] or str(self.sheet.title)
        return send_file(target, mimetype=XLSX, as_attachment=True,
                         download_name=_("%(file)s - errors.xlsx", file=stem))

    @expose("/template")
    @has_access
    def template(self):
        target = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
        spreadsheets.write_template(self.sheet, target)
        target.seek(0)
        return send_file(target, mimetype=XLSX, as_attachment=True,
                         download_name=_("%(kind)s - import template.xlsx", kind=self.sheet.title))

    @expose("/export")
    @has_access
    def export(self):
        """Every row the list shows with its current search filters (all rows without any)."""
        target = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)
        spreadsheets.export(db.session, self.sheet, target, only=self._filtered_ids())
        target.seek(0)
        today = to_local(utcnow(), current_app.config["TIMEZONE"]).strftime("%Y%m%d-%H%M")
        return send_file(target, mimetype=XLSX, as_attachment=True,
                         download_name=f"{self.sheet.title}-{today}.xlsx")

    # ---------------------------------------------------------------- the pieces

    def _page(self, result=None, problem=None, status=200):
        sm = self.appbuilder.sm
        body = self.render_template(
            "imports/upload.html", sheet=self.sheet, view=self.__class__.__name__, result=result, problem=problem,
            title=_("Import %(kind)s", kind=self.sheet.title), list_url=url_for(f"{self.list_view}.list"),
            can_export=sm.has_access("can_export", self.class_permission_name), shown_errors=SHOWN_ERRORS,
            max_rows=limits().max_rows, max_mb=limits().max_bytes // (1024 * 1024), rules=rules(self.sheet))
        return body, status

    def _file_problem(self, problem: FileProblem, streaming: bool):
        if streaming:
            line = json.dumps({"type": "error", "message": str(problem)}, ensure_ascii=False) + "\n"
            return Response(line, status=400, mimetype=NDJSON)
        return self._page(problem=str(problem), status=400)

    def _saved_upload(self) -> tuple[str, str]:
        """The posted file, saved to a temporary path (removed after the import)."""
        try:
            upload = request.files.get("file")
        except RequestEntityTooLarge:
            raise FileProblem(_l("The file is larger than %(max)s MB.",
                                 max=limits().max_bytes // (1024 * 1024))) from None
        if upload is None or not upload.filename:
            raise FileProblem(_l("Choose an Excel file (.xlsx) to upload."))
        handle, path = tempfile.mkstemp(suffix=".xlsx", prefix="import-")
        os.close(handle)
        upload.save(path)
        return path, os.path.basename(upload.filename)[:120]

    def _finish(self, result) -> None:
        """Commit a clean, real import; anything else leaves the database as it was."""
        if result.ok and not result.dry_run:
            db.session.commit()
        else:
            db.session.rollback()

    def _stream(self, events, path):
        finished = False
        try:
            for event in events:
                if isinstance(event, Finished):
                    self._finish(event.result)
                    finished = True
                    html = self.render_template("imports/_result.html", result=event.result, sheet=self.sheet,
                                                view=self.__class__.__name__, shown_errors=SHOWN_ERRORS)
                    yield _line({"type": "result", "ok": event.result.ok, "html": html})
                else:
                    yield _line({"type": "progress", "phase": event.phase, "done": event.done, "total": event.total})
        except FileProblem as problem:  # damage found half-way through the file
            yield _line({"type": "error", "message": str(problem)})
        except Exception:
            log.exception("import of %s failed", self.kind)
            yield _line({"type": "error", "message": _("The import failed; nothing was stored. Please try again.")})
        finally:
            if not finished:
                db.session.rollback()
            _discard(path)

    def _filtered_ids(self):
        """A select of the ids the list view shows under the search filters in the query string; None for all."""
        view = next((v for v in self.appbuilder.baseviews if v.__class__.__name__ == self.list_view), None)
        if view is None:
            return None
        filters = view.datamodel.get_filters(view.search_columns)
        get_filter_args(filters)
        joined = filters.get_joined_filters(view._base_filters)
        if not joined.filters:
            return None
        model = view.datamodel.obj
        shown = view.datamodel.apply_all(db.session.query(model), joined).with_entities(model.id).order_by(None)
        ids = shown.subquery()
        return select(ids.c.id)


def rules(sheet) -> list[str]:
    matched_by, *others = RULES
    return [matched_by(sheet.key_label())] + [rule() for rule in others]


def _line(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False) + "\n"


def _discard(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


class CustomerSpreadsheetView(SpreadsheetView):
    route_base = "/sheets/customers"
    class_permission_name = "CustomerSpreadsheet"
    kind, list_view = "customers", "CustomerView"


class AssetSpreadsheetView(SpreadsheetView):
    route_base = "/sheets/assets"
    class_permission_name = "AssetSpreadsheet"
    kind, list_view = "assets", "AssetView"


class SparePartSpreadsheetView(SpreadsheetView):
    route_base = "/sheets/parts"
    class_permission_name = "SparePartSpreadsheet"
    kind, list_view = "parts", "SparePartView"


class StockSpreadsheetView(SpreadsheetView):
    route_base = "/sheets/stock"
    class_permission_name = "StockSpreadsheet"
    kind, list_view = "stock", "StockView"


SPREADSHEET_VIEWS = (CustomerSpreadsheetView, AssetSpreadsheetView, SparePartSpreadsheetView, StockSpreadsheetView)
