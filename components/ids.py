"""Component ids, one place for all of them, so ids never collide across pages.

Page-specific ids are prefixed with the page's name (``overview-``, ``households-``).
"""

# Shell
URL = "shell-url"
THEME_STORE = "shell-theme"
THEME_TOGGLE = "shell-theme-toggle"
NAVBAR_TOGGLER = "shell-navbar-toggler"
NAVBAR_COLLAPSE = "shell-navbar-collapse"
CALLBACK_ERROR = "shell-callback-error"
SHELL_ORGANISATION = "shell-organisation"  # the organisation switch (several memberships)
SHELL_RELOAD = "shell-reload"  # set after a switch: the browser reloads the page in the new organisation

# Account (/account)
ACCOUNT_ALERT = "account-alert"
ACCOUNT_TOKENS_GRID = "account-tokens-grid"
ACCOUNT_TOKEN_NAME = "account-token-name"
ACCOUNT_TOKEN_ROLE = "account-token-role"
ACCOUNT_TOKEN_DAYS = "account-token-days"
ACCOUNT_TOKEN_CREATE = "account-token-create"
ACCOUNT_TOKEN_SECRET = "account-token-secret"
ACCOUNT_TOKEN_REVOKE = "account-token-revoke"
ACCOUNT_USERS_GRID = "account-users-grid"
ACCOUNT_USER_EMAIL = "account-user-email"
ACCOUNT_USER_NAME = "account-user-name"
ACCOUNT_USER_PASSWORD = "account-user-password"
ACCOUNT_USER_ROLE = "account-user-role"
ACCOUNT_USER_CREATE = "account-user-create"

# Audit log (/audit)
AUDIT_GRID = "audit-grid"
AUDIT_DOWNLOAD_BUTTON = "audit-download-button"
AUDIT_DOWNLOAD = "audit-download"

# Overview (/)
OVERVIEW_PRESET = "overview-preset"
OVERVIEW_RANGE = "overview-range"
OVERVIEW_KPIS = "overview-kpis"
OVERVIEW_TABLE = "overview-table"
OVERVIEW_TREND = "overview-trend"
OVERVIEW_PERIOD_NOTE = "overview-period-note"
OVERVIEW_BODY = "overview-body"
OVERVIEW_QUALITY = "overview-quality"
OVERVIEW_QUALITY_RUNNING = "overview-quality-running"

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
#: in services.households.inputs.HouseholdInput (``battery.soc_min``), dots written as "-" because Dash cannot
#: have dots in ids (``battery-soc_min``, ``pv_systems-0-kwp``).
HOUSEHOLDS_FIELD = "households-field"
HOUSEHOLDS_FEEDBACK = "households-feedback"


def households_field(path: str) -> dict[str, str]:
    """Id of the Households form input for the dotted ``path`` (``battery.soc_min``)."""
    return {"type": HOUSEHOLDS_FIELD, "field": path.replace(".", "-")}


def households_feedback(path: str) -> dict[str, str]:
    """Id of the message shown under the Households form input for the dotted ``path``."""
    return {"type": HOUSEHOLDS_FEEDBACK, "field": path.replace(".", "-")}

# Data (/data)
DATA_UPLOAD = "data-upload"
DATA_UPLOAD_NOTE = "data-upload-note"
DATA_UPLOAD_ALERT = "data-upload-alert"
DATA_PREVIEW = "data-preview"
DATA_FILE = "data-file"
DATA_MAPPING_CARD = "data-mapping-card"
DATA_SAVED_MAPPING = "data-saved-mapping"
DATA_LOAD_MAPPING = "data-load-mapping"
DATA_HOUSEHOLD = "data-household"
DATA_LAYOUT = "data-layout"
DATA_TIME_SOURCE = "data-time-source"
DATA_TS_COLUMN = "data-ts-column"
DATA_TS_FORMAT = "data-ts-format"
DATA_TIMEZONE = "data-timezone"
DATA_START = "data-start"
DATA_STEP = "data-step"
DATA_TIME_COLUMN_FIELDS = "data-time-column-fields"
DATA_TIME_START_FIELDS = "data-time-start-fields"
DATA_LONG_FIELDS = "data-long-fields"
DATA_SERIES_COLUMN = "data-series-column"
DATA_VALUE_COLUMN = "data-value-column"
DATA_COLUMNS_GRID = "data-columns-grid"
DATA_MAPPING_NAME = "data-mapping-name"
DATA_SAVE_MAPPING = "data-save-mapping"
DATA_INGEST = "data-ingest"
DATA_CANCEL = "data-cancel"
DATA_JOB_ID = "data-job-id"
DATA_PROGRESS = "data-progress"
DATA_MAPPING_ALERT = "data-mapping-alert"
DATA_REPORT = "data-report"
DATA_REPORT_SUMMARY = "data-report-summary"
DATA_REPORT_EVENTS = "data-report-events"
DATA_REPORT_REASONS = "data-report-reasons"
DATA_BATCHES_GRID = "data-batches-grid"
DATA_BATCHES_EMPTY = "data-batches-empty"
DATA_BATCHES_REFRESH = "data-batches-refresh"
DATA_REJECTIONS_BUTTON = "data-rejections-button"
DATA_REJECTIONS_DOWNLOAD = "data-rejections-download"
DATA_QUALITY_HOUSEHOLD = "data-quality-household"
DATA_QUALITY_SUMMARY = "data-quality-summary"
DATA_QUALITY_TIMELINE = "data-quality-timeline"
DATA_QUALITY_ISSUES = "data-quality-issues"
DATA_DEVICES_GRID = "data-devices-grid"
DATA_DEVICES_EMPTY = "data-devices-empty"
DATA_MQTT_REJECTIONS_GRID = "data-mqtt-rejections-grid"
DATA_MQTT_REJECTIONS_EMPTY = "data-mqtt-rejections-empty"
DATA_MQTT_REJECTIONS_REFRESH = "data-mqtt-rejections-refresh"
DATA_DEVICE_CONFIRM = "data-device-confirm"
DATA_DEVICES_ALERT = "data-devices-alert"
DATA_ROW_KEYS = "data-row-keys"
DATA_QUANTITIES = "data-quantities"
DATA_LOADED_MAPPING = "data-loaded-mapping"
DATA_COLUMN_ROWS = "data-column-rows"
#: Inputs of the column-mapping table are dict ids {"type": "data-col-<field>", "index": i}.
DATA_COL_FIELDS = ("use", "series", "quantity", "unit", "scale", "per_kwp")


def data_column(field: str, index) -> dict:
    """Id of the mapping table's ``field`` input (use, series, quantity, unit, scale, per_kwp) in row ``index``."""
    return {"type": f"data-col-{field}", "index": index}

# What-if (/optimize)
OPTIMIZE_HOUSEHOLD = "optimize-household"
OPTIMIZE_TARIFF = "optimize-tariff"
OPTIMIZE_DAY = "optimize-day"
OPTIMIZE_CAPACITY = "optimize-capacity"
OPTIMIZE_POWER = "optimize-power"
OPTIMIZE_EFFICIENCY = "optimize-efficiency"
OPTIMIZE_SOC = "optimize-soc"
OPTIMIZE_PV_SCALE = "optimize-pv-scale"
OPTIMIZE_EXPORT_LIMIT = "optimize-export-limit"
OPTIMIZE_HORIZON = "optimize-horizon"
OPTIMIZE_BASE = "optimize-base"
OPTIMIZE_SOURCE = "optimize-source"
OPTIMIZE_ALERT = "optimize-alert"
OPTIMIZE_KPIS = "optimize-kpis"
OPTIMIZE_SCHEDULE = "optimize-schedule"
OPTIMIZE_COST = "optimize-cost"
OPTIMIZE_TIMING = "optimize-timing"
OPTIMIZE_SAVE = "optimize-save"
OPTIMIZE_SAVE_NOTE = "optimize-save-note"
OPTIMIZE_PERIOD = "optimize-period"
OPTIMIZE_BATTERY_PRICE = "optimize-battery-price"
OPTIMIZE_BACKTEST_RUN = "optimize-backtest-run"
OPTIMIZE_BACKTEST_PROGRESS = "optimize-backtest-progress"
OPTIMIZE_BACKTEST_DATA = "optimize-backtest-data"
OPTIMIZE_BACKTEST_SUMMARY = "optimize-backtest-summary"
OPTIMIZE_BACKTEST_FIGURE = "optimize-backtest-figure"
OPTIMIZE_SIZING_RUN = "optimize-sizing-run"
OPTIMIZE_SIZING_PROGRESS = "optimize-sizing-progress"
OPTIMIZE_SIZING_DATA = "optimize-sizing-data"
OPTIMIZE_SIZING_SUMMARY = "optimize-sizing-summary"
OPTIMIZE_SIZING_FIGURE = "optimize-sizing-figure"
OPTIMIZE_FLEET_RUN = "optimize-fleet-run"
OPTIMIZE_FLEET_PROGRESS = "optimize-fleet-progress"
OPTIMIZE_FLEET_SUMMARY = "optimize-fleet-summary"
OPTIMIZE_FLEET_GRID = "optimize-fleet-grid"
OPTIMIZE_FLEET_NOTE = "optimize-fleet-note"
OPTIMIZE_FLEET_STARTED = "optimize-fleet-started"
OPTIMIZE_FLEET_RUNS = "optimize-fleet-runs"
OPTIMIZE_FLEET_SHOWN = "optimize-fleet-shown"
OPTIMIZE_FLEET_TICK = "optimize-fleet-tick"
OPTIMIZE_DRAWN = "optimize-drawn"

# Household explorer (/household/<id>), added with the explorer (HOUSEHOLD_RANGE, _ID, _KPIS, _FLOWS above)
HOUSEHOLD_PERIOD_INFO = "household-period-info"
HOUSEHOLD_PRESET = "household-preset"
HOUSEHOLD_RESOLUTION = "household-resolution"
HOUSEHOLD_VIEW = "household-view"
HOUSEHOLD_COMPARE = "household-compare"
HOUSEHOLD_NOTE = "household-note"
HOUSEHOLD_SANKEY = "household-sankey"
HOUSEHOLD_COMPARISON = "household-comparison"
HOUSEHOLD_COMPARISON_CARD = "household-comparison-card"
HOUSEHOLD_HEATMAP = "household-heatmap"
HOUSEHOLD_COST = "household-cost"
HOUSEHOLD_COST_NOTE = "household-cost-note"
#: Charts and tables of the explorer with a "CSV" button: ``household-<chart>-csv`` (see :func:`csv_button_id`).
HOUSEHOLD_CSV_CHARTS = ("kpis", "flows", "sankey", "comparison", "heatmap", "cost")


def household_csv_button(chart: str) -> str:
    """Id of the explorer's CSV button for ``chart`` (one of :data:`HOUSEHOLD_CSV_CHARTS`)."""
    return csv_button_id(f"household-{chart}")


def household_download(chart: str) -> str:
    """Id of the ``dcc.Download`` behind the explorer's CSV button for ``chart``."""
    return csv_download_id(f"household-{chart}")


# Forecast (/forecast)
FORECAST_HOUSEHOLD = "forecast-household"
FORECAST_ISSUED = "forecast-issued"
FORECAST_ALERTS = "forecast-alerts"
FORECAST_STATUS = "forecast-status"
FORECAST_DATA = "forecast-data"
FORECAST_PV = "forecast-pv"
FORECAST_PV_CSV = "forecast-pv-csv"
FORECAST_PV_DOWNLOAD = "forecast-pv-download"
FORECAST_LOAD = "forecast-load"
FORECAST_LOAD_CSV = "forecast-load-csv"
FORECAST_LOAD_DOWNLOAD = "forecast-load-download"
FORECAST_TRAIN_RUN = "forecast-train-run"
FORECAST_TRAIN_PROGRESS = "forecast-train-progress"
FORECAST_TRAIN_RESULT = "forecast-train-result"
FORECAST_TRAIN_NOTE = "forecast-train-note"
FORECAST_BACKTEST_DAYS = "forecast-backtest-days"
FORECAST_BACKTEST_RUN = "forecast-backtest-run"
FORECAST_BACKTEST_PROGRESS = "forecast-backtest-progress"
FORECAST_BACKTEST_RESULT = "forecast-backtest-result"
FORECAST_BACKTEST_NOTE = "forecast-backtest-note"
FORECAST_ACCURACY_GRID = "forecast-accuracy-grid"
FORECAST_ACCURACY_WRAP = "forecast-accuracy-wrap"
FORECAST_ACCURACY_EMPTY = "forecast-accuracy-empty"
FORECAST_ACCURACY_SUMMARY = "forecast-accuracy-summary"
FORECAST_ACCURACY_CSV = "forecast-accuracy-csv"
FORECAST_ACCURACY_DOWNLOAD = "forecast-accuracy-download"

# Reports (/reports)
REPORTS_HOUSEHOLDS = "reports-households"
REPORTS_SELECT_ALL = "reports-select-all"
REPORTS_SELECT_NONE = "reports-select-none"
REPORTS_PERIOD_KIND = "reports-period-kind"
REPORTS_MONTH = "reports-month"
REPORTS_MONTH_FIELD = "reports-month-field"
REPORTS_YEAR = "reports-year"
REPORTS_YEAR_FIELD = "reports-year-field"
REPORTS_RANGE = "reports-range"
REPORTS_RANGE_FIELD = "reports-range-field"
#: One download button per format: ``reports-download-pdf``, ``-xlsx``, ``-csv``, ``-html``.
REPORTS_FORMATS = ("pdf", "xlsx", "csv", "html")


def reports_button(fmt: str) -> str:
    """Id of the Reports page's download button for ``fmt`` (one of :data:`REPORTS_FORMATS`)."""
    return f"reports-download-{fmt}"

REPORTS_REQUEST_ONE = "reports-request-one"
REPORTS_REQUEST_MANY = "reports-request-many"
REPORTS_STATUS = "reports-status"
REPORTS_DOWNLOAD = "reports-download"
REPORTS_DOWNLOAD_MANY = "reports-download-many"
REPORTS_MANY_FILE = "reports-many-file"
REPORTS_PROGRESS = "reports-progress"
REPORTS_CANCEL = "reports-cancel"
REPORTS_JOB_ID = "reports-job-id"
REPORTS_JOB_STATUS = "reports-job-status"

# Jobs (/jobs): every long job with who started it, progress, result, cancel
JOBS_GRID = "jobs-grid"
JOBS_EMPTY = "jobs-empty"
JOBS_REFRESH = "jobs-refresh"
JOBS_CANCEL = "jobs-cancel"
JOBS_TICK = "jobs-tick"
JOBS_DETAIL = "jobs-detail"
JOBS_ALERT = "jobs-alert"
JOBS_WHERE = "jobs-where"
JOBS_DOWNLOAD = "jobs-download"
JOBS_DOWNLOAD_BUTTON = "jobs-download-button"
JOBS_START_KIND = "jobs-start-kind"
JOBS_START = "jobs-start"

# Overview (/) portfolio views: ranking, map, alerts, monthly trends, CSV downloads; and CSV buttons of
# the What-if and Data pages' charts and tables
OVERVIEW_ALERTS = "overview-alerts"
OVERVIEW_ALERTS_RUNNING = "overview-alerts-running"
OVERVIEW_ALERTS_DATA = "overview-alerts-data"
OVERVIEW_MAP = "overview-map"
OVERVIEW_MAP_KPI = "overview-map-kpi"
OVERVIEW_MONTHLY = "overview-monthly"
OVERVIEW_MONTHLY_METRIC = "overview-monthly-metric"
OVERVIEW_RANK_BY = "overview-rank-by"
OVERVIEW_RANK_ORDER = "overview-rank-order"
OVERVIEW_FILTER = "overview-filter"
OVERVIEW_SEARCH = "overview-search"
OVERVIEW_TABLE_NOTE = "overview-table-note"
OVERVIEW_HOUSEHOLDS = "overview-households"
OVERVIEW_IDLE_PERIOD = "overview-idle-period"


def csv_button_id(target: str) -> str:
    """Id of the "CSV" button of the chart or table ``target`` (a component id)."""
    return f"{target}-csv"


def csv_download_id(target: str) -> str:
    """Id of the ``dcc.Download`` behind the "CSV" button of ``target``."""
    return f"{target}-csv-download"
