"""One page of a list query: what every paginated screen and API list shows.

Screens clamp the page into range (a stale "page 9" link after a filter shows the last
page); the API lists that always answered the page asked for (an empty one past the end)
pass ``clamp=False``.
"""
from __future__ import annotations


def paginate(query, page: int, per_page: int, clamp: bool = True):
    """(rows, total, page, pages) for 1-based ``page``."""
    total = query.count()
    pages = max(1, -(-total // per_page))
    if clamp:
        page = min(max(1, page), pages)
    return list(query.paginate(page, per_page)), total, page, pages
