"""The merchant API's privacy requests: a customer's data exported, then erased, through the real aiohttp app."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry, Customer
from tests.e2e.web_client import MerchantClient
from tests.shop import add_customer, add_order, add_product


async def test_export_then_erase_a_customer(api: MerchantClient, session: AsyncSession) -> None:
    product = await add_product(session, "HS-200")
    anna = await add_customer(session, "Anna Klein", "anna@example.com", "+4915123456789")
    await add_order(session, anna, [(product, 1)], number="1042")
    await session.commit()

    exported = await api.get("/customers/export", params={"email": "ANNA@example.com"})

    assert exported.status == 200
    assert exported.body["data"]["customers"][0]["phone"] == "+4915123456789"
    assert [order["number"] for order in exported.body["data"]["orders"]] == ["1042"]

    erased = await api.post("/customers/erase", {"email": "anna@example.com"})
    again = await api.post("/customers/erase", {"email": "anna@example.com"})

    assert (erased.status, erased.body) == (200, {"erased": True, "customer_id": anna.id})
    assert (again.status, again.body) == (200, {"erased": False, "customer_id": None})
    after = await api.get("/customers/export", params={"email": "anna@example.com"})
    assert after.status == 404
    assert after.body["error"]["code"] == "person_not_found"
    session.expunge_all()
    stored = await session.scalar(select(Customer).where(Customer.id == anna.id))
    assert stored is not None and "anna" not in (stored.name + stored.email).lower() and stored.phone is None
    [entry] = await session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.erased"))
    assert entry.actor_id == f"api-token:{api.token_id}"


async def test_privacy_requests_need_a_token_and_an_email(api: MerchantClient) -> None:
    assert (await api.get("/customers/export", params={"email": "anna@example.com"}, token=None)).status == 401
    assert (await api.post("/customers/erase", {"email": "anna@example.com"}, token=None)).status == 401
    missing = await api.get("/customers/export")
    assert missing.status == 422 and "email" in missing.problems
    assert (await api.post("/customers/erase", {"email": 5})).status == 422
    assert (await api.post("/customers/erase", {"email": "a@b.c", "name": "x"})).status == 422
    not_an_address = await api.post("/customers/erase", {"email": "anna@example"})
    assert (not_an_address.status, not_an_address.problems) == (422, {"email": "'anna@example' is not an e-mail address"})
