"""The sync API's machinery: every collection is also a database of the Sync
Gateway Public REST API (connector/blueprints/sync.py is its HTTP side).

Documents are items; revision trees, sequences, attachments and ``_local``
documents live in the connector's metadata tables (tables.py). Every row
change, by the Wix API, the sync API or another program, is captured by
triggers (triggers.py) and becomes a revision (store.py).
"""
