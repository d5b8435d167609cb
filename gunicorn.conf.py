"""gunicorn settings for the connector (``gunicorn -c gunicorn.conf.py app:app``).

Read by the Procfile, render.yaml, the nginx setup and the benchmark, so what
is measured is what is deployed. Every value can be overridden from the
environment (``WEB_CONCURRENCY``, ``GUNICORN_THREADS``, ``PORT``) or the command line.
"""

import os
import tempfile

# Metrics (connector/metrics.py) from every worker, summed at /metrics: each worker
# writes its samples into this folder. Set before the workers import the app.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="connector-metrics-"))

# Heroku and Render give the port in $PORT; behind nginx the site file points here.
bind = f"0.0.0.0:{os.environ['PORT']}" if os.environ.get("PORT") else "127.0.0.1:8000"

# Threaded workers: requests wait on the database most of the time, and one
# Python process runs one core, so a worker per core with a few threads each.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or max(2, os.cpu_count() or 1))
threads = int(os.environ.get("GUNICORN_THREADS") or 4)

# Heroku's router gives up after 30 s: answer (or be restarted) before that.
timeout = 25
graceful_timeout = 20
# Longer than the proxies' idle timeouts (nginx 60 s upstream, Heroku 90 s), so
# the proxy, not gunicorn, closes idle connections and never reuses a dead one.
keepalive = 95

# Each worker imports the app itself, so database engines (and their pools)
# are created after the fork and never shared between workers.
preload_app = False

control_socket_disable = True

# The access log is the connector's own (connector/observe.py): one JSON line per
# request on stdout, with the Wix requestId, instanceId and collectionId that only
# the app knows once the token is verified. LOG_LEVEL=WARNING silences it.
accesslog = None


def on_starting(server):
    """Set the database up once, before any worker starts: the metadata
    migrations and the shared cursor secret (of every site's database too), so
    workers never race to make them."""
    from connector import create_app, db

    app = create_app()
    app.extensions["connector.tenants"].prepare()  # each site's database (CONNECTOR_TENANTS)
    db.get_engine(app).dispose()  # the master keeps no connection


def child_exit(server, worker):
    """A worker that ended no longer counts in the pool gauges."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
