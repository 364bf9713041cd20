"""The API's routes, one module per domain; importing a module registers its routes.

:func:`require_manager` is the role check of the routes that store something: the route wrapper
(:mod:`api.openapi`) answers any other exception with a 500, so the refusal is an :class:`ApiError`.
"""

from __future__ import annotations

from api.errors import ApiError
from services.access import Forbidden, require_role


def require_manager() -> None:
    """Refuse (403) a caller whose role is below manager: viewers read, managers write."""
    try:
        require_role("manager")
    except Forbidden as exc:
        raise ApiError(403, str(exc)) from None
