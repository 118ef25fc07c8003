"""The merchant console at /console: backorders, purchase orders, broadcasts, delay notices and tickets.

Server-rendered pages (bot/web/templates/console_*.html) over the same services as the merchant API; a little
JavaScript (static/console.js) counts a broadcast's recipients while the audience is picked and follows its
delivery. A merchant signs in with an API token (auth.py). Each section of the navigation is a module of its
own (page.py is what they share; app.py lists them). Changes that customers hear about are previewed first:
moving or receiving a purchase order shows whose ETAs would move, a broadcast shows its recipients and texts,
and only the confirming form changes anything.
"""
