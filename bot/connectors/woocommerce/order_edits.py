"""A customer's cancel or swap carried into the WooCommerce order — edit, refund, note — each step once.

After payment WooCommerce's books change only through refunds: an edit lowers the order's total (the REST API
recalculates it) and a refund on top would take the money off twice. So a cancel that refunds is WooCommerce's
own line refund (the units marked refunded and put back in stock, the money back through the payment gateway);
a swap moves the line's money to the substitute in one order edit and refunds the difference; a cancel that
refunds nothing just lowers the line.

Every step looks in the store before it writes, so a retry after a lost answer never does it twice: the order
edit leaves the meta `_backorder_desk_<event id>` on the order in the same request, the refund's `reason` and the
note's text carry the event id. With "refunds by hand" only the note is written; the refund stays owed here and
the merchant pays it and sees it in the To do list.
"""

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from bot.connectors.woocommerce.rest_client import MAX_PER_PAGE, WooApiError, WooRestClient, WooUnreachable
from bot.services.connectors.store_records import StoreRefused, StoreUnavailable, WriteBackRequest, WriteBackResult

META_PREFIX = "_backorder_desk_"
JSON = dict[str, Any]
T = TypeVar("T")


async def write_back(client: WooRestClient, request: WriteBackRequest, decimals: int) -> WriteBackResult:
    """Do the steps of `request` its `steps` do not show as done; StoreUnavailable carries the steps done so far."""
    steps = dict(request.steps)
    if request.refunds_by_hand:
        steps["by_hand"] = True
    order_path = f"orders/{int(request.order_store_id)}"
    refunding = not request.refunds_by_hand and request.refund_minor > 0
    editing = not request.refunds_by_hand and (request.kind == "swap" or not refunding)
    if editing and not steps.get("edited"):
        await _step(steps, lambda: _edit_order(client, order_path, request, decimals))
        steps["edited"] = True
    if refunding and not steps.get("refund_id"):
        steps["refund_id"] = await _step(steps, lambda: _refund(client, order_path, request, decimals))
    if not steps.get("noted"):
        await _step(steps, lambda: _note(client, order_path, request))
        steps["noted"] = True
    return WriteBackResult(steps, steps.get("refund_id"))


async def _step(steps: dict[str, Any], run: Callable[[], Awaitable[T]]) -> T:
    try:
        return await run()
    except WooUnreachable as failure:
        raise StoreUnavailable(str(failure), steps) from failure
    except WooApiError as failure:
        if failure.temporary:
            raise StoreUnavailable(f"WooCommerce answered {failure.status}: {failure.message}", steps) from failure
        raise StoreRefused(f"WooCommerce refused ({failure.code}): {failure.message}", steps) from failure


async def _edit_order(client: WooRestClient, order_path: str, request: WriteBackRequest, decimals: int) -> None:
    """Lower the line; for a swap add the substitute carrying the money of what it replaces, so the total stays."""
    order: JSON = await client.get(order_path)
    marker = META_PREFIX + request.idempotency_key
    if any(meta.get("key") == marker for meta in order.get("meta_data") or []):
        return  # an earlier attempt's edit went through; its answer was lost
    line = _line_of(order, request)
    items: list[JSON] = []
    moved = Decimal(0)
    if line is not None:
        quantity = int(line["quantity"])
        unit = Decimal(str(line.get("total") or "0")) / quantity if quantity else Decimal(0)
        # Relative to the store's line, which may hold units we never imported; the marker makes it happen once.
        left = max(0, quantity - request.quantity)
        kept = _amount(unit * left, decimals)
        items.append({"id": line["id"], "quantity": left, "subtotal": kept, "total": kept})
        moved = unit * (quantity - left)
    if request.kind == "swap" and request.substitute_quantity > 0:
        items.append(await _substitute_item(client, request, _amount(moved, decimals)))
    what = f"{request.kind} {request.quantity} x {request.sku}"
    if request.kind == "swap":
        what += f" for {request.substitute_quantity} x {request.substitute_sku}"
    await client.put(order_path, {"line_items": items, "meta_data": [{"key": marker, "value": what}]})


def _line_of(order: JSON, request: WriteBackRequest) -> JSON | None:
    """The order's line item the request names: by its id, else the first with the SKU (None: gone already)."""
    items = [item for item in order.get("line_items") or [] if isinstance(item, dict)]
    if request.line_store_id is not None:
        found = next((item for item in items if str(item.get("id")) == request.line_store_id), None)
        if found is not None:
            return found
    return next((item for item in items if item.get("sku") == request.sku and item.get("quantity")), None)


async def _substitute_item(client: WooRestClient, request: WriteBackRequest, total: str) -> JSON:
    product_id = request.substitute_variant_id
    if product_id is None:
        found = await client.get("products", {"sku": request.substitute_sku or "", "per_page": MAX_PER_PAGE})
        if not found:
            raise WooApiError(404, "backorder_desk_unknown_sku", f"no product with SKU {request.substitute_sku} in the store")
        product_id = str(found[0]["id"])
    return {"product_id": int(product_id), "quantity": request.substitute_quantity, "subtotal": total, "total": total}


async def _refund(client: WooRestClient, order_path: str, request: WriteBackRequest, decimals: int) -> str:
    """The refund's id: one made by an earlier attempt (its reason names the event), or a new one."""
    page = 1
    while True:
        refunds = await client.page(f"{order_path}/refunds", page)
        earlier = next((r for r in refunds.items if request.idempotency_key in str(r.get("reason") or "")), None)
        if earlier is not None:
            return str(earlier["id"])
        if not refunds.total_pages or page >= refunds.total_pages:
            break
        page += 1
    amount = _amount(Decimal(request.refund_minor).scaleb(-decimals), decimals)
    body: JSON = {
        "amount": amount,
        "reason": f"Backorder Desk {request.idempotency_key}: {request.kind} {request.quantity} x {request.sku}",
        "api_refund": True,  # through the payment gateway, as the customer was promised
        "api_restock": False,  # a swap's order edit settled the items already
    }
    if request.kind == "cancel" and request.line_store_id is not None:
        # WooCommerce's own way to take a line off a paid order: the units refunded and back in stock.
        body["line_items"] = [{"id": int(request.line_store_id), "quantity": request.quantity, "refund_total": amount}]
        body["api_restock"] = True
    created: JSON = await client.post(f"{order_path}/refunds", body)
    return str(created["id"])


async def _note(client: WooRestClient, order_path: str, request: WriteBackRequest) -> None:
    reference = f"[{request.idempotency_key}]"
    notes = await client.get(f"{order_path}/notes")
    if any(reference in str(note.get("note") or "") for note in notes or []):
        return
    await client.post(f"{order_path}/notes", {"note": f"{request.note} {reference}", "customer_note": False})


def _amount(value: Decimal, decimals: int) -> str:
    return f"{value:.{decimals}f}"
