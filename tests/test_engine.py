"""The scheduler, cadence by cadence and convention by convention (C1-C8)."""

from __future__ import annotations

import datetime as dt

from compliance.engine import Waiver, status_of
from compliance.model import Action
from compliance.workdays import BankHolidays, HolidayOverride
from helpers import D, by_period, run

# -- C1: the due date is inclusive -------------------------------------------------------------


def test_c1_due_date_is_inclusive() -> None:
    assert status_of(D("2026-11-30"), D("2026-11-01"), D("2026-11-30"), 7, True) == "due"
    assert status_of(D("2026-11-30"), D("2026-11-01"), D("2026-12-01"), 7, True) == "overdue"


def test_status_lead_time_and_window() -> None:
    # window rules are due once the window opens
    assert status_of(D("2027-03-31"), D("2026-04-01"), D("2026-04-01"), 60, True) == "due"
    assert status_of(D("2026-12-31"), D("2026-12-01"), D("2026-11-30"), 7, True) == "upcoming"
    # gap rules only inside the lead time
    assert status_of(D("2026-12-15"), D("2026-06-16"), D("2026-11-14"), 30, False) == "upcoming"
    assert status_of(D("2026-12-15"), D("2026-06-16"), D("2026-11-15"), 30, False) == "due"


# -- C4: calendar months ----------------------------------------------------------------------


def test_c4_every_month_needs_its_own_visit() -> None:
    occs = run(
        "reg44-visit",
        ["2026-01-05", "2026-01-28", "2026-03-31"],
        as_of="2026-04-10",
        since="2026-01-01",
    )
    assert by_period(occs) == {
        "2026-01": ("2026-01-31", "done"),
        "2026-02": ("2026-02-28", "overdue"),  # two January visits do not cover February
        "2026-03": ("2026-03-31", "done"),
        "2026-04": ("2026-04-30", "due"),
    }


def test_c4_missed_month_stays_overdue_until_waived() -> None:
    occs = run("reg44-visit", ["2025-12-10"], as_of="2027-06-01", since="2025-12-01", closed=False)
    assert "2026-01" in by_period(occs)
    w = {"h/reg44-visit/2026-01": Waiver("visitor post vacant", D("2026-02-03"), "w1")}
    occs = run("reg44-visit", ["2025-12-10"], as_of="2027-06-01", since="2025-12-01", waivers=w)
    assert by_period(occs)["2026-01"] == ("2026-01-31", "waived")
    assert by_period(occs)["2026-02"] == ("2026-02-28", "overdue")


def test_fast_path_equals_full_computation() -> None:
    dates = ["2026-01-05", "2026-03-02", "2026-04-30", "2026-06-15"]
    until = "2026-08-05"
    full = [
        o
        for o in run("reg44-visit", dates, as_of="2026-07-20", since="2025-12-15", until=until)
        if o.is_open and o.due <= D(until)
    ]
    fast = run(
        "reg44-visit", dates, as_of="2026-07-20", since="2025-12-15", until=until, closed=False
    )
    assert [(o.id, o.due, o.status) for o in full] == [(o.id, o.due, o.status) for o in fast]
    assert [o.period for o in fast] == ["2025-12", "2026-02", "2026-05", "2026-07"]


def test_nothing_owed_before_since() -> None:
    occs = run("reg44-visit", [], as_of="2026-03-15", since="2026-03-01")
    assert by_period(occs) == {"2026-03": ("2026-03-31", "due")}
    assert run("reg44-visit", [], as_of="2026-02-15", since="2026-03-01") == []


def test_period_containing_since_is_owed() -> None:
    occs = run("reg44-visit", [], as_of="2026-04-02", since="2026-03-20")
    assert by_period(occs)["2026-03"] == ("2026-03-31", "overdue")


def test_leap_february() -> None:
    occs = run("reg44-visit", ["2024-01-31"], as_of="2024-03-01", since="2024-01-01")
    assert by_period(occs)["2024-02"] == ("2024-02-29", "overdue")


# -- inspection years and quarters --------------------------------------------------------------


def test_inspection_year_boundary() -> None:
    occs = run("ofsted-full", ["2026-03-31"], as_of="2026-04-01", since="2025-04-01")
    assert by_period(occs) == {"2025-26": ("2026-03-31", "done"), "2026-27": ("2027-03-31", "due")}
    occs = run("ofsted-full", ["2026-04-01"], as_of="2026-04-02", since="2025-04-01")
    assert by_period(occs) == {
        "2025-26": ("2026-03-31", "overdue"),
        "2026-27": ("2027-03-31", "done"),
    }


def test_quarters() -> None:
    occs = run(
        "yjb-review", ["2026-02-01", "2026-07-01"], as_of="2026-10-01", since="2026-01-01", yjb=True
    )
    assert by_period(occs) == {
        "2026-Q1": ("2026-03-31", "done"),
        "2026-Q2": ("2026-06-30", "overdue"),
        "2026-Q3": ("2026-09-30", "done"),
        "2026-Q4": ("2026-12-31", "due"),
    }


# -- C5: at most N months after the previous -------------------------------------------------


def test_c5_gap_clamps_to_month_end() -> None:
    occs = run("reg45-review", ["2025-08-31"], as_of="2025-12-01", since="2025-08-01")
    assert [(o.due, o.status) for o in occs if o.is_open] == [(D("2026-02-28"), "upcoming")]


def test_gap_chain_done_and_late() -> None:
    occs = run(
        "reg45-review",
        ["2025-01-31", "2025-08-15", "2026-01-10"],
        as_of="2026-05-01",
        since="2025-01-01",
    )
    seq = [
        (o.due.isoformat(), o.status, o.done_on.isoformat() if o.done_on else None) for o in occs
    ]
    assert seq == [
        ("2025-07-01", "done", "2025-01-31"),  # first owed 6 months after tracking started
        ("2025-07-31", "late", "2025-08-15"),  # 31 January + 6 months = 31 July
        ("2026-02-15", "done", "2026-01-10"),
        ("2026-07-10", "upcoming", None),
    ]


def test_gap_no_event_is_owed_interval_after_since() -> None:
    occs = run("reg45-review", [], as_of="2026-11-22", since="2026-03-31")
    assert [(o.due, o.status) for o in occs] == [(D("2026-09-30"), "overdue")]


def test_gap_event_before_since_anchors_when_its_next_date_is_after() -> None:
    occs = run("reg45-review", ["2026-02-10"], as_of="2026-06-01", since="2026-04-01")
    assert [(o.due, o.status) for o in occs if o.is_open] == [(D("2026-08-10"), "upcoming")]
    # an old event whose next date fell before since does not: reckoned from since
    occs = run("reg45-review", ["2024-02-10"], as_of="2026-06-01", since="2026-04-01")
    assert [(o.due, o.status) for o in occs if o.is_open] == [(D("2026-10-01"), "upcoming")]


def test_gap_waiver_moves_the_anchor() -> None:
    w = {"h/reg45-review/2026-02-28": Waiver("home closed for refurbishment", D("2026-03-02"), "w")}
    occs = run("reg45-review", ["2025-08-31"], as_of="2026-05-01", since="2025-08-01", waivers=w)
    assert [(o.due.isoformat(), o.status) for o in occs if o.due.year == 2026] == [
        ("2026-02-01", "done"),  # the first, owed 6 months after tracking started
        ("2026-02-28", "waived"),
        ("2026-08-28", "upcoming"),
    ]


def test_wales_ri_visit_three_months() -> None:
    occs = run("ri-visit", ["2026-11-30"], as_of="2027-01-05", since="2026-01-01", nation="wales")
    assert [(o.due, o.status) for o in occs if o.is_open] == [(D("2027-02-28"), "upcoming")]


# -- expiry -----------------------------------------------------------------------------------


def test_expiry_printed_wins_and_renewal_closes() -> None:
    occs = run(
        "licence-renewal",
        ["2023-07-01", "2026-05-01"],
        as_of="2026-11-22",
        since="2023-01-01",
        expires={"2023-07-01": "2026-06-30"},
    )
    seq = [(o.due.isoformat(), o.status) for o in occs]
    assert seq == [("2026-06-30", "done"), ("2029-05-01", "upcoming")]


def test_expiry_grant_plus_three_years_clamped() -> None:
    occs = run("licence-renewal", ["2024-02-29"], as_of="2026-11-22", since="2024-01-01")
    assert [(o.due, o.status) for o in occs] == [(D("2027-02-28"), "due")]  # within 180 days


# -- C2 and C3: days after another rule's event --------------------------------------------------


def test_c2_calendar_days_do_not_move_for_weekends_or_holidays() -> None:
    # review 28 November 2026 + 28 days = Saturday 26 December 2026 (Boxing Day): unchanged
    occs = run("reg45-report", [], as_of="2026-12-27", since="2026-01-01", trigger=["2026-11-28"])
    assert [(o.due, o.status) for o in occs] == [(D("2026-12-26"), "overdue")]


def test_each_review_needs_its_own_report() -> None:
    occs = run(
        "reg45-report",
        ["2026-05-20"],
        as_of="2026-12-01",
        since="2026-01-01",
        trigger=["2026-02-01", "2026-05-01", "2026-10-25"],
    )
    assert by_period(occs) == {
        "2026-02-01": ("2026-03-01", "overdue"),  # no report before the next review
        "2026-05-01": ("2026-05-29", "done"),
        "2026-10-25": ("2026-11-22", "overdue"),
    }


def test_a_trigger_before_since_is_owed_when_its_due_date_is_not() -> None:
    """As for "at most N after" rules: a review just before tracking starts still needs its
    report when the report is due after the start; one due before the start is not owed."""
    occs = run(
        "reg45-report",
        [],
        as_of="2026-03-21",
        since="2026-03-01",
        trigger=["2025-12-01", "2026-02-20"],
        closed=False,
    )
    assert by_period(occs) == {"2026-02-20": ("2026-03-20", "overdue")}  # 2025-12-29 not owed
    occs = run("reg45-report", [], as_of="2026-03-21", since="2026-03-21", trigger=["2026-02-20"])
    assert occs == []  # due 2026-03-20, the day before tracking starts


def test_c3_working_days_skip_weekends_and_national_bank_holidays() -> None:
    bh = BankHolidays()
    # Thursday 24 December 2026 + 3 working days: 25 (Christmas), 26/27 (weekend), 28 (Boxing
    # Day substitute) are skipped -> 29, 30, 31 December
    day, skipped = bh.add_working_days("england", D("2026-12-24"), 3)
    assert day == D("2026-12-31")
    assert [d for d, _ in skipped] == [D("2026-12-25"), D("2026-12-28")]
    # Easter Monday is a bank holiday in England but not in Scotland
    assert bh.add_working_days("england", D("2026-04-02"), 1)[0] == D("2026-04-07")
    assert bh.add_working_days("scotland", D("2026-04-02"), 1)[0] == D("2026-04-06")
    # St Andrew's Day (Monday 30 November 2026) only in Scotland
    assert bh.add_working_days("scotland", D("2026-11-27"), 1)[0] == D("2026-12-01")
    assert bh.add_working_days("england", D("2026-11-27"), 1)[0] == D("2026-11-30")


def test_holiday_overrides_add_and_remove() -> None:
    bh = BankHolidays(
        (
            HolidayOverride("scotland", D("2026-06-15"), "remove"),
            HolidayOverride("england", D("2026-06-16"), "add", "Local closure"),
        )
    )
    assert bh.name("scotland", D("2026-06-15")) is None
    assert bh.add_working_days("england", D("2026-06-15"), 1)[0] == D("2026-06-17")


# -- actions --------------------------------------------------------------------------------


def test_actions_overdue_from_the_day_after() -> None:
    a = Action("a1", "h", "Review restraint records", D("2026-12-25"))
    on_day = run("action", [], as_of="2026-12-25", since="2026-01-01", actions=[a])
    after = run("action", [], as_of="2026-12-26", since="2026-01-01", actions=[a])
    assert [o.status for o in on_day] == ["due"]
    assert [o.status for o in after] == ["overdue"]  # a bank holiday does not move it
    done = run(
        "action",
        [],
        as_of="2027-01-05",
        since="2026-01-01",
        actions=[a],
        action_done={"a1": D("2026-12-27")},
    )
    assert [(o.status, o.done_on) for o in done] == [("late", D("2026-12-27"))]


def test_explanations_name_the_steps() -> None:
    occs = run("reg45-review", ["2025-08-31"], as_of="2026-03-05", since="2025-08-01", explain=True)
    steps = " ".join(occs[-1].steps)
    assert "2025-08-31 + 6 calendar months = 2026-02-28" in steps
    assert "clamped" in steps
    assert "overdue" in steps
    occs = run(
        "reg45-report",
        [],
        as_of="2026-12-01",
        since="2026-01-01",
        trigger=["2026-11-28"],
        explain=True,
    )
    assert "2026-11-28 + 28 calendar days = 2026-12-26" in " ".join(occs[0].steps)


def test_working_day_explanation_lists_holidays_skipped() -> None:
    from dataclasses import replace

    from compliance import engine
    from compliance.engine import Query
    from compliance.model import Cadence
    from compliance.rules import builtin
    from helpers import hist, home

    rule = replace(
        builtin().rules["reg45-report"],
        key="reg44-report",
        cadence=Cadence("after", working_days=5, after="reg44-visit"),
    )
    q = Query(D("2026-12-30"), D("2026-12-30"), explain=True, closed=True, holidays=BankHolidays())
    occs = engine.compute(
        home(),
        rule,
        hist("reg44-report"),
        q,
        since=D("2026-01-01"),
        trigger=hist("reg44-visit", "2026-12-22"),
    )
    assert occs[0].due == D("2026-12-31")  # 23, 24, 29, 30, 31 Dec; 25 and 28 Dec skipped
    text = " ".join(occs[0].steps)
    assert "2026-12-25 Christmas Day" in text and "2026-12-28" in text
    assert dt.date(2026, 12, 30) == q.as_of
