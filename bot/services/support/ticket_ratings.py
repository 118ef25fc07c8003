"""How customers rated the support they got: the stars given to closed tickets over a period."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from bot.services.unit_of_work import UnitOfWork
from db.models import Customer, Ticket, TicketStatus

RECENT_RATINGS = 10


@dataclass(frozen=True)
class RatedTicket:
    id: int
    customer_name: str
    rating: int
    opened_at: datetime
    rated_at: datetime


@dataclass(frozen=True)
class RatingSummary:
    """Tickets closed since `since`, how many of them were rated, and the stars given."""

    since: datetime
    closed: int
    by_stars: dict[int, int]  # 1..5 -> how many ratings, every key present
    recent: list[RatedTicket]  # newest first

    @property
    def rated(self) -> int:
        return sum(self.by_stars.values())

    @property
    def average(self) -> float | None:
        return sum(stars * count for stars, count in self.by_stars.items()) / self.rated if self.rated else None


async def ticket_ratings(uow: UnitOfWork, since: datetime) -> RatingSummary:
    """The ratings of tickets closed since `since`, with the latest few."""
    async with uow:
        closed_since = (Ticket.status == TicketStatus.CLOSED, Ticket.closed_at >= since)
        closed = await uow.session.scalar(select(func.count(Ticket.id)).where(*closed_since)) or 0
        rows = await uow.session.execute(
            select(Ticket.rating, func.count(Ticket.id))
            .where(*closed_since, Ticket.rating.is_not(None))
            .group_by(Ticket.rating)
        )
        stars = {rating: number for rating, number in rows}
        recent = (
            await uow.session.execute(
                select(Ticket.id, Customer.name, Ticket.rating, Ticket.opened_at, Ticket.rated_at)
                .join(Customer, Customer.id == Ticket.customer_id)
                .where(*closed_since, Ticket.rating.is_not(None))
                .order_by(Ticket.rated_at.desc(), Ticket.id.desc())
                .limit(RECENT_RATINGS)
            )
        ).all()
    return RatingSummary(
        since=since,
        closed=closed,
        by_stars={value: stars.get(value, 0) for value in range(1, 6)},
        recent=[RatedTicket(*row) for row in recent],
    )
