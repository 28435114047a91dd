"""Working-time arithmetic: examples a manager can check on a wall calendar, and properties that must hold
for any instant and duration (hypothesis)."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as s

from app.services.workcalendar import CalendarSpec, WorkCalendar, statutory_years

NINE_TO_SIX = {wd: [(time(9), time(18))] for wd in range(5)}

SHANGHAI = WorkCalendar(CalendarSpec(None, "office", "工作日", "Office", "Asia/Shanghai", hours=NINE_TO_SIX))
# Lunch break, Saturday mornings, a company day off and an extra working Sunday.
STATION = WorkCalendar(CalendarSpec(
    None, "station", "网点", "Station", "Asia/Shanghai",
    hours={**{wd: [(time(13), time(18)), (time(8, 30), time(12))] for wd in range(5)}, 5: [(time(9), time(12))]},
    days={date(2026, 11, 27): ("holiday", "年会"), date(2026, 11, 29): ("workday", "盘点")}))
# A calendar abroad, with daylight saving and a late window that ends at midnight.
BERLIN = WorkCalendar(CalendarSpec(
    None, "berlin", "柏林", "Berlin", "Europe/Berlin", statutory=False,
    hours={wd: [(time(1, 30), time(3, 30)), (time(8), time(12)), (time(20), time(0))] for wd in range(7)}))
ALWAYS = WorkCalendar(CalendarSpec(None, "24x7", "全天候", "24×7", always_open=True))
CALENDARS = [SHANGHAI, STATION, BERLIN, ALWAYS]


def local(cal: WorkCalendar, *args) -> datetime:
    """A local wall-clock time as the naive UTC the services use."""
    return datetime(*args, tzinfo=cal.tz).astimezone(timezone.utc).replace(tzinfo=None)


def test_a_deadline_skips_the_night():
    assert SHANGHAI.add(local(SHANGHAI, 2026, 11, 25, 17), timedelta(hours=2)) == local(SHANGHAI, 2026, 11, 26, 10)


def test_a_deadline_skips_the_weekend_and_outside_hours_counts_from_the_next_opening():
    friday_evening = local(SHANGHAI, 2026, 11, 20, 21, 15)
    assert SHANGHAI.add(friday_evening, timedelta(minutes=30)) == local(SHANGHAI, 2026, 11, 23, 9, 30)


def test_national_day_holiday_is_skipped():
    # 2026-10-01 … 10-07 are the statutory National Day holiday; the 8th (Thursday) is a working day.
    assert SHANGHAI.add(local(SHANGHAI, 2026, 9, 30, 17), timedelta(hours=2)) == local(SHANGHAI, 2026, 10, 8, 10)
    assert SHANGHAI.day_rule(date(2026, 10, 1)) == ("statutory_holiday", "National Day")


def test_make_up_saturday_is_a_working_day():
    # 2026-10-10 is a Saturday worked in exchange (调休) for the holiday: Monday's hours apply.
    assert SHANGHAI.day_rule(date(2026, 10, 10))[0] == "makeup_workday"
    assert SHANGHAI.add(local(SHANGHAI, 2026, 10, 9, 17, 30), timedelta(hours=1)) == local(SHANGHAI, 2026, 10, 10, 9, 30)
    assert SHANGHAI.between(local(SHANGHAI, 2026, 10, 10, 0), local(SHANGHAI, 2026, 10, 11, 0)) == timedelta(hours=9)


def test_a_calendar_can_ignore_the_statutory_holidays():
    plain = WorkCalendar(CalendarSpec(None, "plain", "p", "p", statutory=False, hours=NINE_TO_SIX))
    assert plain.between(local(plain, 2026, 10, 1), local(plain, 2026, 10, 2)) == timedelta(hours=9)
    assert plain.between(local(plain, 2026, 10, 10), local(plain, 2026, 10, 11)) == timedelta(0)


def test_company_days_override_the_week_and_lunch_is_not_working_time():
    assert STATION.windows(date(2026, 11, 27)) == ()  # Friday, company day off
    sunday = STATION.windows(date(2026, 11, 29))  # extra working Sunday: Monday's hours
    assert [(w[0].hour, w[1].hour) for w in sunday] == [(0, 4), (5, 10)]  # 08:30–12:00, 13:00–18:00 in UTC
    assert STATION.add(local(STATION, 2026, 11, 25, 11, 30), timedelta(hours=1)) == local(STATION, 2026, 11, 25, 13, 30)
    # Thursday 17:00 + 2 h: 1 h on Thursday, Friday off, Saturday morning 09:00–10:00.
    assert STATION.add(local(STATION, 2026, 11, 26, 17), timedelta(hours=2)) == local(STATION, 2026, 11, 28, 10)


def test_years_without_statutory_data_fall_back_to_the_week():
    first, last = statutory_years()
    assert first <= 2026 <= last
    beyond = date(last + 1, 1, 1)
    assert SHANGHAI.day_rule(beyond) == ("weekday", None)


def test_daylight_saving_days_have_their_real_length():
    # 2026-03-29 Berlin springs forward at 02:00: the 01:30–03:30 window is one hour long that night.
    assert BERLIN.between(local(BERLIN, 2026, 3, 29, 0), local(BERLIN, 2026, 3, 29, 4)) == timedelta(hours=1)
    # 2026-10-25 falls back at 03:00: the same window lasts three hours.
    assert BERLIN.between(local(BERLIN, 2026, 10, 25, 0), local(BERLIN, 2026, 10, 25, 5)) == timedelta(hours=3)
    # The evening window runs to midnight.
    assert BERLIN.add(local(BERLIN, 2026, 11, 25, 23), timedelta(hours=2)) == local(BERLIN, 2026, 11, 26, 2, 30)


def test_always_open_counts_every_minute():
    start = datetime(2026, 10, 1, 3, 7)
    assert ALWAYS.add(start, timedelta(hours=30)) == start + timedelta(hours=30)
    assert ALWAYS.between(start, start + timedelta(days=3)) == timedelta(days=3)


def test_no_working_time_at_all_is_refused():
    from app.services.workcalendar import NoWorkingTime

    empty = WorkCalendar(CalendarSpec(None, "none", "无", "none", statutory=False, hours={}))
    with pytest.raises(NoWorkingTime):
        empty.add(datetime(2026, 1, 1), timedelta(minutes=1))


instants = s.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 2, 1))
durations = s.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20))
calendars = s.sampled_from(CALENDARS)


@settings(max_examples=300, deadline=None)
@given(calendars, instants, durations)
def test_adding_working_time_then_measuring_it_gives_it_back(cal, start, amount):
    end = cal.add(start, amount)
    assert end >= start
    assert cal.between(start, end) == amount


@settings(max_examples=300, deadline=None)
@given(calendars, instants, durations, durations)
def test_adding_in_two_steps_is_adding_once(cal, start, first, second):
    assert cal.add(cal.add(start, first), second) == cal.add(start, first + second)


@settings(max_examples=300, deadline=None)
@given(calendars, instants, instants, instants)
def test_working_time_adds_up_over_consecutive_spans(cal, a, b, c):
    a, b, c = sorted((a, b, c))
    assert cal.between(a, b) + cal.between(b, c) == cal.between(a, c)


@settings(max_examples=200, deadline=None)
@given(calendars, instants, s.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=20)))
def test_a_deadline_falls_inside_working_time(cal, start, amount):
    """The last second before a deadline is working time (a deadline never lands at night)."""
    end = cal.add(start, amount)
    assert cal.is_working(end - timedelta(microseconds=1))


@settings(max_examples=200, deadline=None)
@given(instants)
def test_working_time_never_exceeds_the_wall_clock_and_holidays_count_zero(start):
    end = start + timedelta(days=2)
    assert timedelta(0) <= SHANGHAI.between(start, end) <= end - start
    holiday = local(SHANGHAI, 2026, 10, 2)
    assert SHANGHAI.between(holiday, holiday + timedelta(days=3)) == timedelta(0)


def test_local_dates_follow_the_calendars_zone():
    instant = datetime(2026, 11, 25, 17, 0)  # UTC: already the 26th in Shanghai
    assert SHANGHAI.local_date(instant) == date(2026, 11, 26)
    assert datetime(2026, 11, 26, 1, tzinfo=ZoneInfo("Asia/Shanghai")).date() == date(2026, 11, 26)


segment_lengths = s.lists(s.tuples(s.booleans(), s.timedeltas(min_value=timedelta(minutes=1),
                                                             max_value=timedelta(days=3))), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(calendars, instants, segment_lengths, s.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10)))
def test_a_clock_with_pauses_reaches_its_deadline_after_exactly_the_promised_running_time(cal, start, lengths,
                                                                                          promised):
    """Whatever the pauses, the deadline is where the running working time adds up to the promise."""
    from app.services.sla import Clock, Segment

    segments, at = [], start
    for running, length in lengths:
        segments.append(Segment(at, at + length, running, "running" if running else "waiting_customer"))
        at += length
    segments[-1] = Segment(segments[-1].started_at, None, True, "running")  # the clock runs now
    deadline = Clock(cal, segments).instant_at(promised)
    assert deadline is not None and deadline >= start
    assert Clock(cal, segments).elapsed(deadline) == promised
    # Paused stretches never count: the deadline is never earlier than without them.
    assert deadline >= cal.add(start, promised)
