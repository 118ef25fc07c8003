"""Fulfilment: the shop's side of an order's life — shipments in, refunds paid, and the to-do lists of what to ship and pay."""
