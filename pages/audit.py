"""Audit log (/audit): the organisation's recorded writes, newest first, and all of them as CSV.

Admins only: another role sees why the page is empty, and the download refuses it too (the
callback checks the role itself, since a browser can send any request).
"""

from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from components import ids
from components.account_sections import audit_card
from components.downloads import csv_button
from services.access import AccessScope, current_scope, require_role
from services.auth import entries_csv, list_entries

dash.register_page(__name__, path="/audit", name="Audit log", title="Audit log · Energy Dashboard")

#: How many entries the table shows; the CSV has them all.
SHOWN_ENTRIES = 500
NEEDS_ADMIN = "The audit log needs the admin role in this organisation. Ask an admin of your organisation."


def layout(**_query) -> html.Div:
    return audit_view(current_scope())


def audit_view(scope: AccessScope) -> html.Div:
    """The page for ``scope``: the table and the CSV button for an admin, the reason otherwise."""
    header = [html.H1("Audit log", className="h3")]
    if not scope.can("admin"):
        return html.Div([*header, html.P(NEEDS_ADMIN, className="text-body-secondary")])
    download = csv_button(ids.AUDIT_DOWNLOAD_BUTTON, ids.AUDIT_DOWNLOAD, label="Download CSV",
                          title="Every entry of this organisation, oldest first, as CSV", class_name="")
    return html.Div([*header,
                     html.P(f"Who changed what in this organisation, newest first (the last {SHOWN_ENTRIES}; "
                            "the CSV has all). Times are UTC.", className="text-body-secondary"),
                     audit_card(list_entries(scope.organisation_id, SHOWN_ENTRIES), download)])


@callback(Output(ids.AUDIT_DOWNLOAD, "data"), Input(ids.AUDIT_DOWNLOAD_BUTTON, "n_clicks"), prevent_initial_call=True)
def download_audit(n_clicks):
    """Every entry of the caller's organisation as CSV (admins; :class:`Forbidden` for others)."""
    scope = require_role("admin")
    return dcc.send_string(entries_csv(scope.organisation_id), "audit-log.csv")
