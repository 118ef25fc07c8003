"""The console's impact summary over a known month: every figure for the last 7 and the last 30 shop days."""

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from bot.services.reporting.impact import impact_summary
from bot.services.unit_of_work import UnitOfWork
from tests.impact_history import add_impact_history


async def test_each_figure_counts_what_happened_in_its_period(session: AsyncSession, uow: UnitOfWork, clock: ManualClock) -> None:
    await add_impact_history(session, clock)

    week, month = await impact_summary(uow)

    assert (week.days, month.days) == (7, 30)
    assert week.since.isoformat() == "2026-11-20T23:00:00+00:00"  # Saturday 21 November, midnight in Berlin
    assert (week.delayed_customers, week.kept_waiting, week.cancelled_after_delay) == (2, 1, 1)
    assert (month.delayed_customers, month.kept_waiting, month.cancelled_after_delay) == (4, 2, 2)
    assert (week.swaps, week.swap_value, month.swaps, month.swap_value) == (1, {"EUR": 17800}, 2, {"EUR": 21800})
    assert (week.cancellations, month.cancellations) == (1, 2)
    assert (week.refunds_owed, week.refunds_paid) == ({"EUR": 20900}, {"EUR": 5000})
    assert (month.refunds_owed, month.refunds_paid) == ({"EUR": 25900}, {"EUR": 5000})
    assert (week.tickets_opened, week.tickets_closed, week.ratings, week.rating_average) == (2, 1, 1, 5.0)
    assert (month.tickets_opened, month.tickets_closed, month.ratings, month.rating_average) == (3, 2, 2, 4.0)
    assert (week.shipped_with_eta, week.eta_met, month.shipped_with_eta, month.eta_met) == (3, 1, 4, 2)
    assert week.kept_waiting_share == 0.5 and month.eta_met_share == 0.5


async def test_a_new_shop_has_nothing_to_show_and_no_shares(uow: UnitOfWork) -> None:
    week, month = await impact_summary(uow)

    assert (week.delayed_customers, week.swaps, week.swap_value, week.refunds_owed, month.tickets_opened) == (0, 0, {}, {}, 0)
    assert (week.kept_waiting_share, week.rating_average, month.eta_met_share) == (None, None, None)
