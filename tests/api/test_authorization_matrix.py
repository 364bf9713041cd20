"""Authorization matrix (issue 10), generated from the app itself: every operation of
``/api/openapi.json`` (path x method) and every server-side callback of ``/_dash-dependencies``,
each called by five callers against the households of organisation A:

- anonymous and a revoked token (of A's manager): 401 everywhere except the public routes;
- the manager of organisation B: 404 for any path with A's household id, a refusal for a body
  naming one, no answer naming one of A's households or referring to one of their ids, and A's
  rows unchanged by B's writes;
- a viewer of A: 403 for every REST write (POST/PUT/PATCH/DELETE); a write callback refuses
  (403, or a message) and the store is exactly as before;
- the manager of A: never 401, 403 or 404 for A's own ids, nor a page saying one is missing;
- admin-only callbacks (Account, Audit) refuse all of them (nobody here is an admin).

Callers identify with ``Authorization: Bearer`` tokens (no CSRF for them). A's households get
distinctive names (searched in the raw answer) and ids (the demo portfolio renumbered by
:data:`ID_OFFSET`, looked for where an answer refers to a household). A new REST operation with
a request body fails here until :data:`BODIES` has an example; a new callback whose ids look like
a write fails until it is listed in :data:`WRITE_CALLBACKS` or :data:`NOT_WRITES`. Background
callbacks are run to their result (the job runs in a process forked from the request, as with
Diskcache in production). One write that wrongly succeeds can hide the next caller's attempt on
the same row (a household already deleted): fix, then run again.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from services.access import AccessScope
from services.auth import create_organisation, create_token, revoke_token
from services.demo import load_demo_portfolio
from services.demo.accounts import _copy_tariff
from services.households.import_csv import csv_template
from services.jobs.records import create_job
from services.store.db import get_engine, session_scope
from services.store.models import Base, Device, Household, Job

#: Added to every household id, so that A's ids are numbers no answer has by chance.
ID_OFFSET = 8_370_000
PUBLIC_PATHS = {"/health"}
WRITE_METHODS = {"post", "put", "patch", "delete"}
CALLERS = ("anonymous", "revoked", "viewer_a", "manager_b", "manager_a")  # A's manager last: it may write
#: Tables whose rows change on any authenticated request (token last use, audit of refusals):
#: tokens are counted (made and revoked), the audit log is left out.
VOLATILE_TABLES = {"api_tokens", "audit_entries"}

#: A minimal valid body per REST operation that has one; ``w`` is the :class:`World`.
BODIES = {
    ("post", "/api/ingest/readings"): lambda w: {"readings": [
        {"household_id": w.a_ids[0], "series": "matrix_probe", "quantity": "load",
         "ts": "2026-06-29T12:00:00+00:00", "value": next(w.values), "unit": "kWh"}]},
    ("post", "/api/optimize"): lambda w: {"household_id": w.a_ids[0]},
}

#: Callbacks (by their inputs) that change the store when they run.
WRITE_CALLBACKS = {
    "households-form-save.n_clicks", "households-confirm-delete.n_clicks", "households-upload.contents",
    "data-save-mapping.n_clicks", "data-ingest.n_clicks", "data-cancel.n_clicks", "data-device-confirm.n_clicks",
    "jobs-cancel.n_clicks", "jobs-start.n_clicks", "optimize-save.n_clicks", "optimize-backtest-run.n_clicks",
    "optimize-sizing-run.n_clicks", "optimize-fleet-run.n_clicks", "forecast-train-run.n_clicks",
    "forecast-backtest-run.n_clicks", "reports-request-many.data", "reports-cancel.n_clicks",
    "account-token-create.n_clicks", "account-token-revoke.n_clicks", "account-user-create.n_clicks",
}
#: Callbacks for admins only (no caller here is one): everyone is refused, and nothing changes.
ADMIN_CALLBACKS = {"account-token-create.n_clicks", "account-token-revoke.n_clicks", "account-user-create.n_clicks",
                   "audit-download-button.n_clicks"}
#: Callbacks whose ids look like a write but that only read or open a dialog (each one reviewed).
NOT_WRITES = {
    "households-new.n_clicks",  # opens the empty form
    "households-edit.n_clicks",  # opens the form of the selected household
    "households-form-cancel.n_clicks", "households-confirm-cancel.n_clicks",  # close a dialog
    "households-delete.n_clicks",  # asks first: the confirm button deletes
    "data-upload.contents",  # parses the file into a preview in the browser's store
    "data-devices-grid.selectedRows",  # enables the Confirm button
    "jobs-grid.selectedRows+jobs-grid.rowData",  # enables the Cancel button
    "data-batches-grid.selectedRows",  # enables the rejections button
    "data-load-mapping.n_clicks",  # fills the form from a saved mapping
    "reports-download-pdf.n_clicks+reports-download-xlsx.n_clicks+reports-download-csv.n_clicks"
    "+reports-download-html.n_clicks",  # builds a file to download (a request for many is a job)
    "data-time-source.value",  # shows the start-time fields
    "data-file.data+data-layout.value+data-series-column.value+data-ts-column.value+data-time-source.value"
    "+data-value-column.value+data-loaded-mapping.data",  # the mapping rows of the uploaded file
    "forecast-household.value+forecast-train-result.data",  # the forecast shown (not stored)
    "optimize-fleet-started.data+optimize-fleet-tick.n_intervals+optimize-fleet-runs.selectedRows",  # shows runs
}
WRITE_LOOKING = re.compile(r"save|delete|confirm|upload|ingest|cancel|start|run|train|import|create|new|edit|"
                           r"remove|submit|apply|queue|revoke|password|role")
#: Callbacks that must run after the others: they delete or rename A's second household.
LAST = ("households-form-save.n_clicks", "households-upload.contents", "households-confirm-delete.n_clicks")
RENAMED = "Zqxa Matrix Renamed"
IMPORTED = "Zqxa Matrix Imported"
#: The name a browser sends back in a selected row: echoed by some dialogs, so none of A's names.
ROW_NAME = "Row as sent"
#: What a page says instead of a 404: A's manager must never be told this about A's households.
NOT_FOUND_WORDS = re.compile(r"no longer exists|was not found|does not exist|already deleted|not a household",
                             re.IGNORECASE)
#: Longest wait for a background callback's result [s] (training a model takes a few).
BACKGROUND_TIMEOUT_S = 120


@dataclass
class World:
    """Two organisations: A's households (ids, names), B's, and a token secret per caller."""

    a: int
    b: int
    a_ids: list[int]
    b_ids: list[int]
    a_names: list[str]
    secrets: dict[str, str | None]
    device: dict = field(default_factory=dict)
    job_id: int | None = None
    spare_token_id: int | None = None  # a token of A's for the Revoke button
    addresses: itertools.count = field(default_factory=lambda: itertools.count(1))
    values: itertools.count = field(default_factory=lambda: itertools.count(1))  # a new reading each call

    def headers(self, caller: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets[caller]}"} if self.secrets[caller] else {}

    def environ(self, caller: str) -> dict[str, str]:
        """A client address of its own for each revoked call: refused tokens are rate limited per address."""
        if caller != "revoked":
            return {}
        n = next(self.addresses)
        return {"REMOTE_ADDR": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}

    def leaks(self, text: str) -> list[str]:
        """A's households in an answer: any of their names anywhere, and their ids where the answer
        refers to a household (an id merely repeated from the request, as in "Household 12 was not
        found", is no leak)."""
        found = [name for name in self.a_names if name in text]
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        ids = set(self.a_ids)
        found += [f"household {i} ({where})" for i, where in household_refs(data) if i in ids]
        found += [f"household {i} (link)" for i in map(int, re.findall(r"/household/(\d+)", text)) if i in ids]
        return found


#: Keys whose value is a household id, wherever they are.
HOUSEHOLD_KEYS = {"household_id", "householdId", "household"}


def household_refs(data) -> list[tuple[int, str]]:
    """(id, where) of every household reference in a JSON answer: a ``household_id`` key, the ``id`` of
    an object that has a ``name`` (a household row), a dropdown option's ``value``."""
    refs = []
    if isinstance(data, dict):
        for k, v in data.items():
            number = _as_id(v)
            if number is not None and (k in HOUSEHOLD_KEYS or (k == "id" and "name" in data)
                                       or (k == "value" and "label" in data)):
                refs.append((number, k))
            refs += household_refs(v)
    elif isinstance(data, list):
        refs = [ref for item in data for ref in household_refs(item)]
    return refs


def _as_id(value) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else value if type(value) is int else None


@pytest.fixture
def world(db_url) -> World:
    """The demo portfolio (4 households, 2 weeks) split over organisations A and B."""
    load_demo_portfolio(n_households=4, seed=3, end=date(2026, 6, 30), days=14, url=db_url)
    _renumber_households(db_url, ID_OFFSET)
    a, b = create_organisation("Matrix Org A"), create_organisation("Matrix Org B")
    with session_scope() as session:
        homes = list(session.scalars(sa.select(Household).order_by(Household.id)))
        copies: dict[tuple[int, int], int] = {}
        for n, home in enumerate(homes):
            org = a.id if n % 2 == 0 else b.id
            home.organisation_id = org
            if home.tariff_id is not None:
                key = (home.tariff_id, org)
                if key not in copies:
                    copies[key] = _copy_tariff(session, home.tariff_id, org).id
                home.tariff_id = copies[key]
            if org == a.id:
                home.name = f"Zqxa Matrix Home {n // 2 + 1}"
        a_ids = [h.id for h in homes if h.organisation_id == a.id]
        b_ids = [h.id for h in homes if h.organisation_id == b.id]
        names = [h.name for h in homes if h.organisation_id == a.id]
        device = session.scalar(sa.select(Device).where(Device.household_id == a_ids[0]).order_by(Device.id))
        device_row = {"id": device.id, "household_id": a_ids[0], "name": device.name, "household": names[0],
                      "review": "needs review"} if device else {}
        if device:
            device.needs_review = True
    secrets, token_ids = {"anonymous": None}, {}
    for caller, org, role in (("viewer_a", a.id, "viewer"), ("manager_a", a.id, "manager"),
                              ("manager_b", b.id, "manager"), ("revoked", a.id, "manager"), ("spare", a.id, "viewer")):
        view, secrets[caller] = create_token(f"matrix {caller}", org, role)
        token_ids[caller] = view.id
        if caller == "revoked":
            revoke_token(view.id, org)
    # A queued job that A's manager started, for the Cancel buttons (a job is seen by its starter).
    job = create_job("forecast_train", {"household_id": a_ids[0]}, AccessScope(
        organisation_id=a.id, role="manager", label="matrix manager_a", token_id=token_ids["manager_a"]))
    with session_scope() as session:
        session.get(Job, job.id).organisation_id = a.id  # main does not stamp jobs yet; the scope branch does
    from api.security import bad_token_limiter, token_limiter

    bad_token_limiter.reset()
    token_limiter.reset()
    secrets.pop("spare")
    return World(a.id, b.id, a_ids, b_ids, [*names, RENAMED, IMPORTED], secrets, device_row, job.id,
                 token_ids["spare"])


def _renumber_households(url: str, offset: int) -> None:
    """Add ``offset`` to every household id and to every column that refers to one."""
    engine = get_engine(url)
    refs = [(t, fk.parent) for t in Base.metadata.sorted_tables for fk in t.foreign_keys
            if fk.column.table.name == "households"]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")  # no FK triggers for now
        else:
            conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # checked at commit, when all agree
        for table, column in refs:
            conn.execute(table.update().values({column.name: column + offset}))
        households = Base.metadata.tables["households"]
        conn.execute(households.update().values(id=households.c.id + offset))
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('households', 'id'), "
                                 "(SELECT max(id) FROM households))")


@pytest.fixture
def web(dash_app):
    """A client of the real app with no identity of its own (each call brings its token)."""
    return dash_app.server.test_client()


# --- the store before and after a write ----------------------------------------------------------


def snapshot(world: World) -> tuple[dict, dict]:
    """(A's rows, digest per table; the row count of every table). A's rows: those of organisation A
    and those of its households."""
    scoped, counts = {}, {}
    with session_scope() as session:
        tokens = Base.metadata.tables["api_tokens"]
        counts["api_tokens"] = (session.scalar(sa.select(sa.func.count()).select_from(tokens)),
                                session.scalar(sa.select(sa.func.count()).where(tokens.c.revoked_at.is_not(None))))
        for table in Base.metadata.sorted_tables:
            if table.name in VOLATILE_TABLES:
                continue
            counts[table.name] = session.scalar(sa.select(sa.func.count()).select_from(table))
            query = None
            if "organisation_id" in table.c:
                query = sa.select(table).where(table.c.organisation_id == world.a)
            elif "household_id" in table.c:
                query = sa.select(table).where(table.c.household_id.in_(world.a_ids))
            if query is not None:
                rows = sorted(repr(tuple(r)) for r in session.execute(query))
                scoped[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return scoped, counts


# --- REST ----------------------------------------------------------------------------------------


def operations(web, world: World) -> list[tuple[str, str, dict]]:
    spec = web.get("/api/openapi.json", headers=world.headers("manager_a")).get_json()
    return [(method, path, op) for path, ops in spec["paths"].items() for method, op in ops.items()
            if method in WRITE_METHODS | {"get"}]


def rest_call(web, world: World, caller: str, method: str, path: str, op: dict):
    url = path.replace("{household_id}", str(world.a_ids[0]))
    kwargs = {}
    if "requestBody" in op:
        example = BODIES.get((method, path))
        assert example is not None, (f"{method.upper()} {path} takes a body: add a minimal valid example to "
                                     "BODIES in tests/api/test_authorization_matrix.py")
        kwargs["json"] = example(world)
    return web.open(url, method=method.upper(), headers=world.headers(caller),
                    environ_base=world.environ(caller), **kwargs)


def rest_problems(world: World, caller: str, method: str, path: str, response, changed: bool) -> list[str]:
    """What is wrong with ``caller``'s answer to ``method path`` (``changed``: A's rows changed)."""
    status, text, problems = response.status_code, response.get_data(as_text=True), []
    public, write, by_path = path in PUBLIC_PATHS, method in WRITE_METHODS, "{household_id}" in path
    names_a = (method, path) in BODIES and "household_id" in json.dumps(BODIES[(method, path)](world))
    if status >= 500:
        problems.append(f"answered {status}")
    if caller in ("anonymous", "revoked"):
        if not public and status != 401:
            problems.append(f"answered {status}, not 401")
    elif caller == "manager_b":
        if by_path and status != 404:
            problems.append(f"answered {status} for A's household, not 404")
        if names_a and status not in (404, 422):
            problems.append(f"answered {status} to a body naming A's household, not a refusal (404/422)")
        if world.leaks(text):
            problems.append(f"the answer carries A's households: {world.leaks(text)}")
        if changed:
            problems.append("A's rows changed")
    elif caller == "viewer_a":
        if write and status != 403:
            problems.append(f"answered {status} to a write, not 403")
        if not write and status in (401, 403, 404):
            problems.append(f"answered {status} to a read")
    elif status in (401, 403, 404):
        problems.append(f"answered {status} for A's own household")
    return problems


def test_rest_matrix(web, world):
    ops = operations(web, world)
    assert {(m, p) for m, p, _ in ops} >= {("get", "/api/households"), ("post", "/api/ingest/readings")}
    failures = []
    for method, path, op in ops:
        for caller in CALLERS:
            before = snapshot(world)
            response = rest_call(web, world, caller, method, path, op)
            after = snapshot(world)
            changed = before[0] != after[0] if caller == "manager_b" else False
            if caller == "viewer_a" and method in WRITE_METHODS and before != after:
                failures.append(f"viewer_a {method.upper()} {path}: the store changed")
            failures += [f"{caller} {method.upper()} {path}: {p}"
                         for p in rest_problems(world, caller, method, path, response, changed)]
    assert not failures, f"{len(failures)} authorization failures:\n" + "\n".join(failures)


# --- callbacks -----------------------------------------------------------------------------------


def callback_key(dep: dict) -> str:
    """A callback's name here: its inputs, ``id.property`` joined by ``+``."""
    return "+".join(f"{i['id']}.{i['property']}" for i in dep["inputs"])


def callback_ids(dep: dict) -> list[str]:
    """The component ids a callback reads and writes (without Dash's ``@hash`` of duplicates)."""
    outputs = [piece.rpartition(".")[0] for piece in dep["output"].strip(".").split("...")]
    return [*outputs, *(i["id"] for i in dep["inputs"]), *(s["id"] for s in dep["state"])]


def server_callbacks(web, world: World) -> list[dict]:
    """Each server-side callback once (the app may register its pages twice), writes last."""
    deps = web.get("/_dash-dependencies", headers=world.headers("manager_a")).get_json()
    unique = {d["output"]: d for d in deps if not d.get("clientside_function") and d["inputs"]}
    order = {key: n for n, key in enumerate(LAST)}
    return sorted(unique.values(), key=lambda d: (order.get(callback_key(d), -1), callback_key(d) in WRITE_CALLBACKS))


def value_for(world: World, id_, prop: str, caller: str):
    """What a browser on A's pages would send for ``id_.prop``: A's household where it is a household
    selector, a click for buttons, a valid form where a write needs one, else None."""
    text = id_ if isinstance(id_, str) else json.dumps(id_, sort_keys=True)
    main, second = world.a_ids
    form = {"name": RENAMED, "timezone": "Europe/Berlin", "latitude": 52.5, "longitude": 13.4,
            "export_curtailable": True}
    if prop in ("n_clicks", "n_intervals"):
        return 1
    if isinstance(id_, dict) and id_.get("type") == "households-field":
        return form.get(id_["field"])
    special = {
        "households-grid.selectedRows": [{"id": second, "name": ROW_NAME}],
        "households-editing.data": second,
        "households-has-pv.value": False, "households-has-battery.value": False,
        "households-upload.contents": "data:text/csv;base64,"
        + base64.b64encode(csv_template().replace("Example home", IMPORTED if caller.endswith("_a")
                                                  else f"{caller} import").encode()).decode(),
        "households-upload.filename": "matrix.csv",
        "data-devices-grid.selectedRows": [world.device] if world.device else None,
        "reports-households.value": [main],
        "_pages_location.pathname": f"/household/{main}",
        "data-mapping-name.value": "Matrix mapping",
        "jobs-start-kind.value": "weather_refresh",
        "jobs-grid.selectedRows": [{"id": world.job_id}],
        "data-job-id.data": world.job_id, "reports-job-id.data": world.job_id,
        "account-token-name.value": "matrix token", "account-token-role.value": "viewer",
        "account-tokens-grid.selectedRows": [{"id": world.spare_token_id}],
        "account-user-email.value": "matrix-user@example.com", "account-user-name.value": "Matrix User",
        "account-user-password.value": "a long matrix password 7", "account-user-role.value": "viewer",
    }
    if f"{text}.{prop}" in special:
        return special[f"{text}.{prop}"]
    if "household" in text and prop in ("value", "data"):
        return main
    return None


def _entry(world: World, item: dict, with_value: bool, caller: str = ""):
    id_ = json.loads(item["id"]) if item["id"].startswith("{") else item["id"]
    if isinstance(id_, dict) and any(isinstance(v, list) for v in id_.values()):
        return []  # a pattern (ALL): no such components on the page
    entry = {"id": id_, "property": item["property"]}
    return {**entry, "value": value_for(world, id_, item["property"], caller)} if with_value else entry


def callback_request(world: World, dep: dict, caller: str) -> dict:
    pieces = dep["output"].strip(".").split("...") if dep["output"].startswith("..") else [dep["output"]]
    outputs = []
    for piece in pieces:
        component, _, prop = piece.rpartition(".")
        outputs.append(_entry(world, {"id": component, "property": prop}, with_value=False))
    inputs = [_entry(world, i, True, caller) for i in dep["inputs"]]
    first = dep["inputs"][0]
    return {"output": dep["output"], "outputs": outputs if dep["output"].startswith("..") else outputs[0],
            "inputs": inputs, "state": [_entry(world, s, True, caller) for s in dep["state"]],
            "changedPropIds": [f"{first['id']}.{first['property']}"]}


def callback_problems(world: World, caller: str, dep: dict, response, before, after) -> list[str]:
    status, text, problems = response.status_code, response.get_data(as_text=True), []
    write = callback_key(dep) in WRITE_CALLBACKS
    if status >= 500:
        problems.append(f"answered {status}")
    if caller in ("anonymous", "revoked"):
        if status != 401:
            problems.append(f"answered {status}, not 401")
    elif callback_key(dep) in ADMIN_CALLBACKS:
        if before is not None and before != after:
            problems.append(f"an admin's callback changed the store for a {caller} (answered {status})")
        if status == 200 and '"content"' in text:
            problems.append(f"an admin's download was sent to a {caller}")
    elif caller == "manager_b":
        if world.leaks(text):
            problems.append(f"the answer carries A's households: {world.leaks(text)}")
        if before is not None and before[0] != after[0]:
            problems.append("A's rows changed")
    elif caller == "viewer_a":
        if write and status != 403 and before is not None and before != after:
            problems.append(f"a viewer's write changed the store (answered {status})")
        if not write and status in (401, 403, 404):
            problems.append(f"answered {status} to a read")
    elif status in (401, 403, 404):
        problems.append(f"answered {status} for A's own household")
    elif NOT_FOUND_WORDS.search(text):
        problems.append(f"told A's own manager a household is not there: {NOT_FOUND_WORDS.search(text)[0]!r}")
    return problems


def test_every_write_looking_callback_is_classified(web, world):
    unclassified = sorted({callback_key(d) for d in server_callbacks(web, world)
                           if any(WRITE_LOOKING.search(i) for i in callback_ids(d))} - WRITE_CALLBACKS - NOT_WRITES)
    assert not unclassified, ("these callbacks look like writes: list each in WRITE_CALLBACKS (it changes the "
                              "store) or NOT_WRITES (it only reads) of this module:\n" + "\n".join(unclassified))
    keys = {callback_key(d) for d in server_callbacks(web, world)}
    assert WRITE_CALLBACKS <= keys, f"listed writes the app no longer has: {sorted(WRITE_CALLBACKS - keys)}"


def run_callback(web, world: World, caller: str, dep: dict):
    """The answer to ``caller`` firing ``dep``; for a background callback, its result once the job has
    run (asked for with the job's signed handles, as the browser polls)."""
    body = callback_request(world, dep, caller)

    def send(query: str = ""):
        return web.post(f"/_dash-update-component{query}", json=body, headers=world.headers(caller),
                        environ_base=world.environ(caller))

    response = send()
    if not dep.get("background") or response.status_code != 200:
        return response
    handles = response.get_json()
    query = "?" + urlencode({"cacheKey": handles["cacheKey"], "job": handles["job"]})
    deadline = time.monotonic() + BACKGROUND_TIMEOUT_S
    while time.monotonic() < deadline:
        response = send(query)
        if response.status_code != 200 or "response" in response.get_json():
            return response
        time.sleep(0.2)
    pytest.fail(f"{caller}: background callback {callback_key(dep)} gave no result in {BACKGROUND_TIMEOUT_S} s")


def test_callback_matrix(web, world, caplog):
    caplog.set_level("CRITICAL")
    deps = server_callbacks(web, world)
    assert len(deps) >= 50
    failures, exercised = [], 0
    for dep in deps:
        for caller in CALLERS:
            key = callback_key(dep)
            watch = key in WRITE_CALLBACKS and (caller in ("viewer_a", "manager_b") or key in ADMIN_CALLBACKS)
            before = snapshot(world) if watch else None
            response = run_callback(web, world, caller, dep)
            after = snapshot(world) if watch else None
            exercised += caller == "manager_a" and response.status_code == 200
            failures += [f"{caller} {callback_key(dep)} -> {dep['output'][:80]}: {p}"
                         for p in callback_problems(world, caller, dep, response, before, after)]
    assert not failures, f"{len(failures)} authorization failures:\n" + "\n".join(failures)
    assert exercised >= 30, f"only {exercised} callbacks answered A's manager with an update"
