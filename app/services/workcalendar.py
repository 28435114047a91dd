"""Working-time arithmetic on a business calendar: "when have N working minutes passed after this
instant" and "how much working time lies between these two instants".

Instants are naive UTC (as stored). A calendar's hours are local wall-clock times in its own time zone;
each local day is turned into UTC windows once and cached, so nights, weekends, holidays, make-up
working days (调休) and daylight-saving changes are all handled in one place: `windows(day)`.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

MIDNIGHT = time(0)
# A calendar with no working time at all would never reach a deadline; stop looking after this long.
HORIZON_DAYS = 3 * 366


class NoWorkingTime(ValueError):
    pass


@dataclass(frozen=True)
class CalendarSpec:
    """What a BusinessCalendar row says, detached from the database."""
    id: int | None
    code: str
    name_zh: str
    name_en: str
    timezone: str = "Asia/Shanghai"
    always_open: bool = False
    statutory: bool = True
    # weekday (0 = Monday) -> local (start, end) windows; end 00:00 = midnight
    hours: dict = field(default_factory=dict)
    # local date -> ("holiday" | "workday", name)
    days: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        from app.models.mixins import localized

        return localized(self.name_zh, self.name_en)


def statutory_years() -> tuple[int, int]:
    """The years chinese_calendar knows (it is updated when the State Council publishes a year)."""
    known = chinese_calendar.constants.holidays
    return min(known).year, max(known).year


def statutory_day(day: date) -> tuple[str, str | None] | None:
    """("holiday", name) for a public holiday, ("workday", name) for a make-up working day on a weekend,
    None for an ordinary day or a year chinese_calendar has no data for."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    if on_holiday and name:
        return "holiday", name
    if not on_holiday and day.weekday() >= 5:
        return "workday", name
    return None


def _merge(windows: list[tuple[time, time]]) -> tuple[tuple[time, time | None], ...]:
    """Sorted, overlapping windows joined; an end of 00:00 becomes None (= midnight)."""
    spans = sorted((s, None if e == MIDNIGHT else e) for s, e in windows)
    merged: list[list] = []
    for start, end in spans:
        if end is not None and end <= start:
            continue
        if merged and (merged[-1][1] is None or start <= merged[-1][1]):
            if merged[-1][1] is not None and (end is None or end > merged[-1][1]):
                merged[-1][1] = end
            continue
        merged.append([start, end])
    return tuple((s, e) for s, e in merged)


class WorkCalendar:
    def __init__(self, spec: CalendarSpec):
        self.spec = spec
        self.tz = ZoneInfo(spec.timezone)
        self.hours = {wd: _merge(list(w)) for wd, w in spec.hours.items()}
        # Make-up working days (调休) keep the hours of an ordinary weekday: Monday's, or the first defined.
        self.makeup_hours = self.hours.get(0) or next((self.hours[wd] for wd in sorted(self.hours)
                                                       if self.hours[wd]), ())
        self._windows = lru_cache(maxsize=4096)(self._compute_windows)

    # -- which hours a local day has ------------------------------------------------------------------
    def day_rule(self, day: date) -> tuple[str, str | None]:
        """Why a local day works as it does: ("company_holiday"|"company_workday"|"statutory_holiday"|
        "makeup_workday"|"weekday", name)."""
        if day in self.spec.days:
            kind, name = self.spec.days[day]
            return ("company_holiday" if kind == "holiday" else "company_workday"), name
        if self.spec.statutory:
            statutory = statutory_day(day)
            if statutory is not None:
                kind, name = statutory
                return ("statutory_holiday" if kind == "holiday" else "makeup_workday"), name
        return "weekday", None

    def local_hours(self, day: date) -> tuple:
        rule, _ = self.day_rule(day)
        if rule in ("company_holiday", "statutory_holiday"):
            return ()
        if rule in ("company_workday", "makeup_workday"):
            return self.hours.get(day.weekday()) or self.makeup_hours
        return self.hours.get(day.weekday(), ())

    def _to_utc(self, day: date, moment: time | None) -> datetime:
        if moment is None:
            day, moment = day + timedelta(days=1), MIDNIGHT
        local = datetime.combine(day, moment).replace(tzinfo=self.tz)
        return local.astimezone(timezone.utc).replace(tzinfo=None)

    def _compute_windows(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        if self.spec.always_open:
            return ((self._to_utc(day, MIDNIGHT), self._to_utc(day, None)),)
        result = []
        for start, end in self.local_hours(day):
            s, e = self._to_utc(day, start), self._to_utc(day, end)
            if e > s:  # a window inside a daylight-saving gap can vanish
                if result and s < result[-1][1]:
                    s = result[-1][1]
                if e > s:
                    result.append((s, e))
        return tuple(result)

    def windows(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The day's working time as UTC (start, end) pairs, in order."""
        return self._windows(day)

    def local_date(self, instant: datetime) -> date:
        return instant.replace(tzinfo=timezone.utc).astimezone(self.tz).date()

    # -- arithmetic -----------------------------------------------------------------------------------
    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant at which `amount` of working time has passed since `start`."""
        if amount <= timedelta(0):
            return start
        if self.spec.always_open:
            return start + amount
        remaining = amount
        day = self.local_date(start) - timedelta(days=1)  # a window of the previous local day may still be open
        for _ in range(HORIZON_DAYS):
            for window_start, window_end in self.windows(day):
                if window_end <= start:
                    continue
                begin = max(window_start, start)
                available = window_end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
            day += timedelta(days=1)
        raise NoWorkingTime(self.spec.code)

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from `start` to `end` (zero when end is not after start)."""
        if end <= start:
            return timedelta(0)
        if self.spec.always_open:
            return end - start
        total = timedelta(0)
        day = self.local_date(start) - timedelta(days=1)
        last = self.local_date(end)
        while day <= last:
            for window_start, window_end in self.windows(day):
                begin, finish = max(window_start, start), min(window_end, end)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return total

    def is_working(self, instant: datetime) -> bool:
        if self.spec.always_open:
            return True
        day = self.local_date(instant)
        return any(s <= instant < e for d in (day - timedelta(days=1), day) for s, e in self.windows(d))
