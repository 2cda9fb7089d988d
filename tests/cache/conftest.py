"""Shared by the cache tests. Kept minimal: helpers live in the test files that use them.

The repository-wide ``tests/conftest.py`` already points ``$LLMX_HOME`` at a fresh directory.
"""
