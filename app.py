"""The WSGI entry point: ``gunicorn app:app``."""

from connector import create_app

app = create_app()
