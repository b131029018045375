"""Numbered schema migrations, applied in order by ``engine.store.migrate_store``.

Each file holds a frozen copy of the tables it creates or changes, independent of
``engine.models``, so that an old database can always be brought forward step by step.
"""
