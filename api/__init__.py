"""REST API (kept from the older gateway): a Flask blueprint with typed request/response models."""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify

bp = Blueprint("api", __name__)


@bp.get("/health")
def health():
    """The process is up."""
    return jsonify(status="ok")


def register_api(server: Flask) -> None:
    server.register_blueprint(bp)
