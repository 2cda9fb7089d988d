"""The response cache: exact keys, a semantic tier, and the store they share.

keys, kinds, veto, complete (which answers may be cached) and the vector maths are pure;
``databases.py`` is the only diskcache user (public API only), ``store.py`` the cache built
on it, ``recency.py`` its approximate LRU order, ``queue.py`` its grouped writes,
``recovery.py`` what happens when a database is damaged, read-only or full.
"""
