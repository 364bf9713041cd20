"""Component ids, one place for all of them, so ids never collide across pages.

Page-specific ids are prefixed with the page's name (``overview-``, ``households-``).
"""

# Shell
URL = "shell-url"
THEME_STORE = "shell-theme"
THEME_TOGGLE = "shell-theme-toggle"
NAVBAR_TOGGLER = "shell-navbar-toggler"
NAVBAR_COLLAPSE = "shell-navbar-collapse"

# Overview (/)
OVERVIEW_PRESET = "overview-preset"
OVERVIEW_RANGE = "overview-range"
OVERVIEW_KPIS = "overview-kpis"
OVERVIEW_TABLE = "overview-table"
OVERVIEW_TREND = "overview-trend"
OVERVIEW_PERIOD_NOTE = "overview-period-note"
OVERVIEW_BODY = "overview-body"

# Household detail (/household/<id>)
HOUSEHOLD_RANGE = "household-range"
HOUSEHOLD_ID = "household-id"
HOUSEHOLD_KPIS = "household-kpis"
HOUSEHOLD_FLOWS = "household-flows"

# Households (/households)
HOUSEHOLDS_GRID = "households-grid"
HOUSEHOLDS_GRID_WRAP = "households-grid-wrap"
HOUSEHOLDS_EMPTY = "households-empty"
HOUSEHOLDS_ALERT = "households-alert"
HOUSEHOLDS_NEW = "households-new"
HOUSEHOLDS_EDIT = "households-edit"
HOUSEHOLDS_DELETE = "households-delete"
HOUSEHOLDS_UPLOAD = "households-upload"
HOUSEHOLDS_TEMPLATE = "households-template"
HOUSEHOLDS_TEMPLATE_DOWNLOAD = "households-template-download"
HOUSEHOLDS_FORM_MODAL = "households-form-modal"
HOUSEHOLDS_FORM_TITLE = "households-form-title"
HOUSEHOLDS_FORM_ALERT = "households-form-alert"
HOUSEHOLDS_FORM_SAVE = "households-form-save"
HOUSEHOLDS_FORM_CANCEL = "households-form-cancel"
HOUSEHOLDS_EDITING = "households-editing"
HOUSEHOLDS_HAS_PV = "households-has-pv"
HOUSEHOLDS_PV_SECTION = "households-pv-section"
HOUSEHOLDS_HAS_BATTERY = "households-has-battery"
HOUSEHOLDS_BATTERY_SECTION = "households-battery-section"
HOUSEHOLDS_CONFIRM_MODAL = "households-confirm-modal"
HOUSEHOLDS_CONFIRM_TEXT = "households-confirm-text"
HOUSEHOLDS_CONFIRM_DELETE = "households-confirm-delete"
HOUSEHOLDS_CONFIRM_CANCEL = "households-confirm-cancel"
#: Form inputs and their feedback are dict ids {"type": ..., "field": ...} made from the field's dotted path
#: in services.validation.HouseholdInput (``battery.soc_min``), dots written as "-" because Dash cannot
#: have dots in ids (``battery-soc_min``, ``pv_systems-0-kwp``).
HOUSEHOLDS_FIELD = "households-field"
HOUSEHOLDS_FEEDBACK = "households-feedback"


def households_field(path: str) -> dict[str, str]:
    """Id of the Households form input for the dotted ``path`` (``battery.soc_min``)."""
    return {"type": HOUSEHOLDS_FIELD, "field": path.replace(".", "-")}


def households_feedback(path: str) -> dict[str, str]:
    """Id of the message shown under the Households form input for the dotted ``path``."""
    return {"type": HOUSEHOLDS_FEEDBACK, "field": path.replace(".", "-")}
