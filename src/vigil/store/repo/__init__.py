"""Repositories: the only code that builds queries. One module per area, functions over a session.

Domain modules call these inside `Store.transaction()`; an import contract forbids SQLAlchemy
outside `vigil.store`, so a query cannot creep into a domain module or an adapter.
"""
