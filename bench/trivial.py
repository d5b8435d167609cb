"""The web stack's ceiling: a Flask app with one trivial JSON endpoint, served by
the same gunicorn config as the connector (``gunicorn -c gunicorn.conf.py bench.trivial:app``).

It reads the body as the connector does and answers a small JSON object, so
the difference to a connector workload is the connector's own work.
"""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/trivial")
def trivial():
    return jsonify({"ok": True, "bytes": len(request.get_data(cache=False))})
