"""The connector's benchmark: the connector under gunicorn, loaded by wrk, judged
against the web stack's ceiling and the database's floor (see README.md)."""
