"""Input both import front ends (CSV files and the merchant API) must refuse the same way."""

# placed_at as given, and the reason every front end gives, with today 27 November 2026 in Berlin.
ORDER_TIMES_OUTSIDE_REASON = [
    ("9999-12-31T23:59:59-12:00", "'9999-12-31T23:59:59-12:00' lies outside the calendar (years 1 to 9999)"),
    ("0001-01-01", "'0001-01-01' lies outside the calendar (years 1 to 9999)"),
    ("0001-01-02", "0001-01-02 is more than 20 years ago; orders placed before 2006-12-02 are refused"),
    ("1999-12-31T23:00:00+00:00", "2000-01-01 is more than 20 years ago; orders placed before 2006-12-02 are refused"),
]
