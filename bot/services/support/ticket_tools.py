"""The agents' tools on a ticket: they act for its customer only while the ticket is open, are recorded as the
agent's, and what they send the customer goes through the outbox, in the transaction that records it."""

from dataclasses import asdict, dataclass

from bot.services.audit import Actor, record
from bot.services.backorders.alternatives import AlternativesResult, list_alternatives
from bot.services.backorders.cancel import cancel_line
from bot.services.backorders.results import CancelResult
from bot.services.outbox import PRIORITY_INTERACTIVE, OutgoingMessage, enqueue
from bot.services.support.tickets import TicketView, open_ticket_row, ticket_view
from bot.services.unit_of_work import UnitOfWork

TEMPLATE_ALTERNATIVES_OFFERED = "alternatives_offered"


@dataclass(frozen=True)
class OfferedAlternatives:
    ticket: TicketView
    result: AlternativesResult
    queued: bool  # False: there was nothing to offer, or the customer has blocked the bot


async def ticket_for_tools(uow: UnitOfWork, ticket_id: int) -> TicketView:
    """The ticket an agent's tool acts on; TicketClosed once it is closed, so no tool works on a closed ticket."""
    async with uow:
        return await ticket_view(uow.session, await open_ticket_row(uow.session, ticket_id))


async def cancel_for_customer(uow: UnitOfWork, ticket_id: int, line_id: int, agent_telegram_id: int) -> CancelResult:
    """Cancel the ticket's customer's line as the agent: the customer's own rules and refund.

    The customer is told through the outbox, in the cancel's transaction, as for any cancel the shop makes.
    """
    ticket = await ticket_for_tools(uow, ticket_id)
    return await cancel_line(uow, ticket.customer_id, line_id, Actor.agent(agent_telegram_id))


async def offer_alternatives(uow: UnitOfWork, ticket_id: int, line_id: int, agent_telegram_id: int) -> OfferedAlternatives:
    """Queue the ordinary alternatives screen, with its buttons, for the ticket's customer, recorded as the agent's answer."""
    ticket = await ticket_for_tools(uow, ticket_id)
    result = await list_alternatives(uow, ticket.customer_id, line_id)
    if not result.alternatives:
        return OfferedAlternatives(ticket, result, queued=False)
    async with uow:
        session, now = uow.session, uow.clock.now()
        row = await open_ticket_row(session, ticket_id)
        offer = OutgoingMessage(
            chat_id=ticket.customer_chat_id,
            customer_id=ticket.customer_id,
            template=TEMPLATE_ALTERNATIVES_OFFERED,
            language=ticket.language or uow.policy.default_language,
            params=asdict(result),
            optional=False,  # an answer in a conversation the customer started
            priority=PRIORITY_INTERACTIVE,
        )
        queued = await enqueue(session, uow.clock, [offer]) > 0
        if queued:
            skus = [alternative.sku for alternative in result.alternatives]
            record(session, Actor.agent(agent_telegram_id), "ticket.alternatives_sent", "ticket", row.id, at=now, line_id=line_id, skus=skus)
            if row.first_response_at is None:
                row.first_response_at = now
        view = await ticket_view(session, row)
        await uow.commit()
    return OfferedAlternatives(view, result, queued)
