"""The dataset's tables and the SQL that maps every input shape onto them (one place for the schema).

Three tables, split by *when* they are needed (measured in tests/bench/bench_logs.py):

* ``log_events`` — one row per event. A large JSON array fills only what the table shows, filters,
  sorts and counts, with one typed ``read_json`` scan (``entra_log_schema.typed_columns``): no JSON
  re-serialisation, so the dataset is queryable at about the cost of a bare explicit-schema read.
  Every other input fills the detail columns (steps, initiator, service principal, ``raw``) in the
  same scan.
* ``log_details`` — those detail columns for the big arrays, read by a second scan of the file
  after the dataset is already usable (they are most of a record's cost: nested JSON as text).
* ``log_search`` — one lower-cased text per event for free-text search, built from ``log_events``
  by SQL alone. Until it exists, text search evaluates the same expression on the fly (correct,
  slower).

The view ``events`` joins them back into the single wide shape earlier slices (and other features,
e.g. the reconciliation engine) query.
"""

from __future__ import annotations

from console.core.entra_log_schema import EVENT_COLUMNS, INPUT_COLUMNS, STAGE2_COLUMNS, typed_columns

FORMAT_VERSION = "2"
DETAIL_FIELDS = ("steps", "initiator_type", "service_principal", "raw")
# log_events: the view's columns (EVENT_COLUMNS) without the search text, the detail fields last.
CORE_COLUMNS = tuple(c for c in EVENT_COLUMNS if c not in (*DETAIL_FIELDS, "search"))
TABLE_COLUMNS = (*CORE_COLUMNS, *DETAIL_FIELDS)

DDL = """
CREATE TABLE IF NOT EXISTS log_events (
    seq BIGINT, event_id VARCHAR, time TIMESTAMPTZ, action VARCHAR, status VARCHAR, error_code VARCHAR,
    error_reason VARCHAR, source_id VARCHAR, source_upn VARCHAR, source_name VARCHAR, target_id VARCHAR,
    job_id VARCHAR, cycle_id VARCHAR, change_id VARCHAR, duration_ms DOUBLE, http_status INTEGER,
    modified_properties VARCHAR, source_file VARCHAR,
    steps VARCHAR, initiator_type VARCHAR, service_principal VARCHAR, raw VARCHAR
);
CREATE TABLE IF NOT EXISTS log_details (
    seq BIGINT, steps VARCHAR, initiator_type VARCHAR, service_principal VARCHAR, raw VARCHAR,
    event_id VARCHAR
);
CREATE TABLE IF NOT EXISTS log_search (seq BIGINT, s VARCHAR);
CREATE TABLE IF NOT EXISTS log_order (rn BIGINT, seq BIGINT);
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE OR REPLACE VIEW events AS
SELECT e.seq, e.event_id, e.time, e.action, e.status, e.error_code, e.error_reason, e.source_id, e.source_upn,
       e.source_name, e.target_id, e.job_id, e.cycle_id, e.change_id, e.duration_ms, e.http_status,
       coalesce(e.initiator_type, d.initiator_type) AS initiator_type,
       coalesce(e.service_principal, d.service_principal) AS service_principal, e.modified_properties,
       coalesce(e.steps, d.steps) AS steps, coalesce(e.raw, d.raw) AS raw, e.source_file, s.s AS search
FROM log_events e LEFT JOIN log_details d USING (seq) LEFT JOIN log_search s USING (seq);
"""

# Free text covers identities, error code and reason, and the *values* of modified properties: the
# JSON key names would make "oldvalue" match every row and cost a third more bytes per scan. Three
# plain replaces build it 5x faster than one regexp (measured: 0.4 s vs 1.95 s per 250 k events).
_MODS_TEXT = (
    "replace(replace(replace(modified_properties, '\"displayName\":', ''), '\"oldValue\":', ''), "
    "'\"newValue\":', '')"
)
SEARCH_EXPR = (
    "lower(concat_ws(' ', source_upn, source_name, source_id, target_id, error_code, error_reason, "
    f"{_MODS_TEXT}))"
)


def columns_literal(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"


def read_json(fmt: str, columns: dict[str, str]) -> str:
    """``read_json`` of the bound file (first ``?``) with an explicit schema and no auto-detection."""
    return (
        f"read_json(?, format='{fmt}', records='true', columns={columns_literal(columns)}, "
        "maximum_object_size=268435456)"
    )


# ---- the tolerant mapping: every nested field read as JSON, both name generations + the platform shape
_P = "(method IS NOT NULL AND provisioningSteps IS NULL)"
_INFO = "coalesce(provisioningStatusInfo, statusInfo)"
TOLERANT_MAPPING = f"""
SELECT ?::BIGINT + row_number() OVER () AS seq,
  id AS event_id,
  try_cast(coalesce(activityDateTime, ts) AS TIMESTAMPTZ) AS time,
  nullif(lower(split_part(trim(coalesce(provisioningAction, action, op, method)), ' ', 1)), '') AS action,
  CASE WHEN {_P} THEN outcome ELSE lower({_INFO}->>'$.status') END AS status,
  CASE WHEN {_P} THEN error_code ELSE coalesce({_INFO}->>'$.errorInformation.errorCode',
       {_INFO}->>'$.errorInfo.errorCode', {_INFO}->>'$.errorCode') END AS error_code,
  CASE WHEN {_P} THEN error_detail ELSE coalesce({_INFO}->>'$.errorInformation.reason',
       {_INFO}->>'$.errorInfo.reason', {_INFO}->>'$.reason') END AS error_reason,
  coalesce(sourceIdentity->>'$.id', user_id) AS source_id,
  coalesce(sourceIdentity->>'$.details.UserPrincipalName', sourceIdentity->>'$.details.userPrincipalName',
           user_name) AS source_upn,
  coalesce(sourceIdentity->>'$.displayName', user_name) AS source_name,
  coalesce(targetIdentity->>'$.id', scim_id, nullif(regexp_extract(path, '/Users/([^/?]+)', 1), ''))
    AS target_id,
  jobId AS job_id, cycleId AS cycle_id, changeId AS change_id,
  try_cast(CAST(coalesce(durationInMilliseconds, latency_ms) AS VARCHAR) AS DOUBLE) AS duration_ms,
  CASE WHEN {_P} THEN try_cast(CAST(status AS VARCHAR) AS INTEGER) END AS http_status,
  CAST(modifiedProperties AS VARCHAR) AS modified_properties,
  ? AS source_file,
  CAST(provisioningSteps AS VARCHAR) AS steps,
  coalesce(initiatedBy->>'$.initiatorType', initiatedBy->>'$.initiatingType') AS initiator_type,
  CASE WHEN json_type(servicePrincipal) = 'ARRAY' THEN servicePrincipal->>'$[0].displayName'
       ELSE servicePrincipal->>'$.displayName' END AS service_principal,
  CAST(json_object('tenantId', tenantId, 'statusInfo', {_INFO}, 'initiatedBy', initiatedBy,
       'servicePrincipal', servicePrincipal, 'sourceIdentity', sourceIdentity,
       'targetIdentity', targetIdentity,
       'sourceSystem', sourceSystem, 'targetSystem', targetSystem, 'method', method, 'path', path,
       'op_summary', op_summary, 'external_id', external_id) AS VARCHAR) AS raw
"""


def tolerant_from_file(fmt: str) -> tuple[str, str]:
    """(SELECT …, the file scan) for the all-JSON schema; params: base seq, source_file, path."""
    return TOLERANT_MAPPING, f"FROM {read_json(fmt, INPUT_COLUMNS)}"


def tolerant_from_graph(fmt: str = "auto") -> tuple[str, str]:
    """Graph pages (NDJSON/concatenated, or ``fmt='array'``: an array of pages): unnest the ``value``
    arrays of every page into records, then the same mapping."""
    proj = ", ".join(
        (f"CAST(j->>'$.{k}' AS VARCHAR) AS \"{k}\"" if t == "VARCHAR" else f"j->'$.{k}' AS \"{k}\"")
        for k, t in INPUT_COLUMNS.items()
    )
    src = (
        f"FROM (SELECT {proj} FROM (SELECT unnest(from_json(value, '[\"JSON\"]')) AS j "
        f"FROM read_json(?, format='{fmt}', records='true', columns={{'value': 'JSON'}}, "
        "maximum_object_size=268435456)))"
    )
    return TOLERANT_MAPPING, src


def tolerant_insert(select: str, source: str) -> str:
    """One scan with the all-JSON schema straight into ``log_events`` (every column filled)."""
    return f"INSERT INTO log_events ({', '.join(TABLE_COLUMNS)}) {select} {source}"


# ---- the fast path for big JSON arrays: stage 1 (typed, core columns only), stage 2 (details)
def typed_core_insert(upn_key: str) -> str:
    """Stage 1: one typed scan straight into ``log_events``; params: base seq, source_file, path.

    ``row_number()`` numbers the rows in file order (an array is read by one thread), which is what
    lets ``details_insert`` line the second scan up with this one."""
    cols = typed_columns(upn_key)
    return f"""
INSERT INTO log_events ({', '.join(TABLE_COLUMNS)})
SELECT ?::BIGINT + row_number() OVER (), id, activityDateTime,
  nullif(lower(split_part(trim(coalesce(provisioningAction, action)), ' ', 1)), ''),
  lower(info.status),
  coalesce(info.errorInformation.errorCode, info.errorInfo.errorCode, info.errorCode),
  coalesce(info.errorInformation.reason, info.errorInfo.reason, info.reason),
  sourceIdentity.id, sourceIdentity.details."{upn_key}", sourceIdentity.displayName, targetIdentity.id,
  jobId, cycleId, changeId, durationInMilliseconds, NULL::INTEGER, modifiedProperties, ?,
  NULL, NULL, NULL, NULL
FROM (SELECT *, coalesce(provisioningStatusInfo, statusInfo) AS info FROM {read_json("array", cols)})
"""


def details_insert() -> str:
    """Stage 2: the nested objects by a second scan, numbered like stage 1 (file order, one thread).

    Params: base (the file's first seq - 1), path, the file's last seq. Streams into the table (no
    join: a 1 M-row join with the JSON text on one side needed 3 GB); ``DETAILS_MISMATCH`` removes rows
    whose ``event_id`` is not the stage-1 row's of the same number (the file changed since).
    """
    info = "coalesce(provisioningStatusInfo, statusInfo)"
    return f"""
INSERT INTO log_details
SELECT d.seq, CAST(d.provisioningSteps AS VARCHAR),
  coalesce(d.initiatedBy->>'$.initiatorType', d.initiatedBy->>'$.initiatingType'),
  CASE WHEN json_type(d.servicePrincipal) = 'ARRAY' THEN d.servicePrincipal->>'$[0].displayName'
       ELSE d.servicePrincipal->>'$.displayName' END,
  CAST(json_object('tenantId', d.tenantId, 'statusInfo', {info}, 'initiatedBy', d.initiatedBy,
       'servicePrincipal', d.servicePrincipal, 'sourceIdentity', d.sourceIdentity,
       'targetIdentity', d.targetIdentity, 'sourceSystem', d.sourceSystem, 'targetSystem', d.targetSystem,
       'method', NULL, 'path', NULL, 'op_summary', NULL, 'external_id', NULL) AS VARCHAR),
  d.id
FROM (SELECT ?::BIGINT + row_number() OVER () AS seq, * FROM {read_json("array", STAGE2_COLUMNS)}) d
WHERE d.seq <= ?::BIGINT
"""


# Details rows of a file (seq range $1..$2) that do not line up with an event of stage 1: a row past
# the events, one whose event was dropped as empty, or a different id at the same position.
DETAILS_MISMATCH = """
DELETE FROM log_details WHERE seq BETWEEN $1 AND $2 AND seq IN (
    SELECT d.seq FROM log_details d LEFT JOIN log_events e ON e.seq = d.seq
    WHERE d.seq BETWEEN $1 AND $2 AND (e.seq IS NULL OR e.event_id IS DISTINCT FROM d.event_id))
"""


# The default view (every event, newest first) numbered once, so opening a dataset and jumping to
# its end never waits for a 1 M-row row_number() (performance-notes §3.4).
ORDER_BUILD = (
    "CREATE OR REPLACE TABLE log_order AS "
    "SELECT row_number() OVER (ORDER BY time DESC NULLS LAST, seq DESC) AS rn, seq FROM log_events "
    "ORDER BY rn"
)


def search_insert() -> str:
    """The search text of the rows in a seq range; params: first seq - 1, last seq."""
    return f"INSERT INTO log_search SELECT seq, {SEARCH_EXPR} FROM log_events WHERE seq > ? AND seq <= ?"
