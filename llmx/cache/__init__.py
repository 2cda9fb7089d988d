"""The response cache: exact keys, a semantic tier, and the store they share.

keys, kinds, veto and the vector maths are pure; ``store.py`` is the only diskcache user.
"""
