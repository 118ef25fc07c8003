"""Supply: supplier purchase orders (list, preview, changes) and the stock on hand they add to."""
