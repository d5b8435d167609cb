"""The WSGI entry point: ``gunicorn app:app``."""

import os

from connector import create_app
from connector.observe import configure_logging

configure_logging(os.environ.get("LOG_LEVEL"))
app = create_app()
