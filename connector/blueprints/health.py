"""/healthz and /readyz: for load balancers, Heroku, Render and monitors.

Neither needs a token, and neither says anything about the configuration:
/healthz answers while the process serves requests at all; /readyz also makes
a round trip to every configured database and answers 503 when one is down.
A read replica that is down is reported but leaves the process ready: reads
it would have served go to the primary.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app

from ..db import get_engine, get_replicas

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    sites = current_app.extensions["connector.tenants"]
    checks = [lambda: get_engine(current_app)] + [
        lambda site=site: sites.database(site).engine for site in sites.instance_ids
    ]
    down = sum(not _reachable(engine_of) for engine_of in checks)
    body = {"status": "unavailable" if down else "ready", "databases": len(checks)}
    if down:
        body["unavailable"] = down
    replicas = get_replicas(current_app)
    if replicas:
        body["replicas"] = len(replicas)
        lost = sum(not _reachable(lambda r=replica: r) for replica in replicas)
        if lost:
            body["replicasUnavailable"] = lost
    return body, 503 if down else 200


def _reachable(engine_of) -> bool:
    """Whether the database answers (opening a site's database on first use)."""
    try:
        with engine_of().connect() as conn:
            conn.execute(sa.select(1))
        return True
    except sa.exc.SQLAlchemyError:
        return False
