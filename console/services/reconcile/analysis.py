"""The reconciliation rules as SQL (entra-facts §3.4 rules 1–3, 7–9), one statement per step.

Why it is shaped like this: at 1 M platform users × 1 M Entra rows the only affordable work is a
handful of hash joins and aggregations over narrow columns (performance-notes §3.5). Almost every
row is clean — the Entra user's UPN and mail are its own account's userName and email and no one else
holds them — so each rule first narrows to the few rows that can be interesting (shared keys, rows
whose keys differ from their account's, unlinked Entra users) and does the expensive comparisons
on those only.

Tables the loaders provide (see ``engine.py``): ``pu`` (platform users, keys ``un_k``/``e1_k``),
``ok`` (their further emails), ``e`` (Entra export, keys ``upn_k``/``mail_k``), ``ev`` (conflict
events of a provisioning-log dataset, keys already folded). Keys are NFC + casefold
(``console.core.reconcile.rules.identity_key``); ``NULL`` when absent.

The rules (the class names are ``FindingClass`` values):

1. **Shared keys** on the platform: accounts (not merged away) holding the same userName/email key.
   Linked to ≥ 2 IdP objects → ``email_collision``; one object + unlinked accounts → ``case_only``
   when the stored spellings differ, else ``manual_twin``; no links at all → ``case_only`` or
   ``email_collision`` (two unrelated accounts). All linked to one object → rule 2 reports it.
2. **Shared externalId** → ``scim_twins``.
3. **What Entra wants**: the UPN and mail of each Entra user in the export, and the addresses named
   by conflict events in the logs (EntryConflict, DuplicateTargetEntries, 409 uniqueness …). An
   account that holds such a key but does not stand for that Entra user is a *foreign holder*:
   linked to another IdP object → ``email_collision``; unlinked while the Entra user has its own
   account → ``manual_twin`` / ``case_only`` (same person per Entra); unlinked while the Entra user has
   no account → ``email_collision`` only when the logs show Entra's push failing (otherwise Entra's
   default matching will link it or create a twin the next analysis finds).
4. **Stale email**: an account linked to an Entra user whose mail is gone (and the account's email is
   not the UPN) or is another address nobody else holds → ``stale_email``.
5. **Hygiene**: ``username_not_email`` (not reported for accounts already in another finding — the
   weaker signal) and ``no_email``.

Findings found by several rules for the same accounts are one finding (the most specific class names
it, the strongest key of rule 1 is shown, every key found is kept as evidence). When the Entra export
says who owns the address, that reading wins over the platform-only one and over the logs'; when two
Entra users claim one address (a departed user's UPN is now another's mail) the enabled one owns it.
"""

from __future__ import annotations

from console.core.reconcile.findings import CLASS_INFO, CLASS_PRIORITY, SEVERITY_RANK
from console.core.reconcile.rules import KEY_ORDER, PLACEHOLDER_SUFFIX

US = "chr(31)"  # the snapshot's email-list separator, in SQL
PH = f"'{PLACEHOLDER_SUFFIX}'"


def _real(col: str) -> str:
    """SQL: ``col`` is a usable identity key (present, not a released/merged placeholder)."""
    return f"({col} IS NOT NULL AND {col} <> '' AND NOT ends_with({col}, {PH}))"


def class_rows() -> list[tuple[str, int, str, int, int]]:
    """(class, rank, severity, severity rank, priority) for the ``classes`` table."""
    return [(str(c), info.rank, info.severity, SEVERITY_RANK[info.severity], CLASS_PRIORITY.index(c))
            for c, info in CLASS_INFO.items()]


def key_rows() -> list[tuple[str, int]]:
    return [(k, i) for i, k in enumerate(KEY_ORDER)]


CANDIDATES_DDL = """
CREATE OR REPLACE TEMP TABLE cf (sig VARCHAR, cls VARCHAR, key_kind VARCHAR, value VARCHAR, obj VARCHAR,
    detail VARCHAR, orank INTEGER);
CREATE OR REPLACE TEMP TABLE cev (sig VARCHAR, uid VARCHAR, key_kind VARCHAR, value VARCHAR);
"""
# A candidate finding is named by ``sig``: its accounts' ids, sorted, comma-joined. Single-account
# candidates of one account share a sig, so the most specific class wins without extra work.

PLATFORM_STEPS: list[tuple[str, str]] = [
    ("account keys", f"""
CREATE OR REPLACE TEMP TABLE ak AS
SELECT id AS uid, un_k AS k, user_name AS raw, TRUE AS as_un FROM pu
 WHERE merged_into_id IS NULL AND {_real('un_k')}
UNION ALL
SELECT id, e1_k, e1, FALSE FROM pu
 WHERE merged_into_id IS NULL AND {_real('e1_k')} AND e1_k IS DISTINCT FROM un_k
UNION ALL
SELECT o.uid, o.k, min(o.raw), FALSE FROM ok o JOIN pu p ON p.id = o.uid
 WHERE p.merged_into_id IS NULL AND {_real('o.k')}
   AND o.k IS DISTINCT FROM p.un_k AND o.k IS DISTINCT FROM p.e1_k
 GROUP BY o.uid, o.k
"""),
    ("shared keys", """
CREATE OR REPLACE TEMP TABLE sk AS SELECT k FROM ak GROUP BY k HAVING count(*) > 1
"""),
    ("shared-key groups", """
CREATE OR REPLACE TEMP TABLE sm AS
SELECT ak.*, p.obj FROM ak SEMI JOIN sk USING (k) JOIN pu p ON p.id = ak.uid;
CREATE OR REPLACE TEMP TABLE pg AS
SELECT k, string_agg(uid, ',' ORDER BY uid) AS sig, count(DISTINCT obj) AS n_obj,
       count(*) FILTER (WHERE obj IS NULL) AS n_unlinked, count(DISTINCT raw) AS n_raw,
       bool_or(as_un) AS any_un, min(raw) AS raw
FROM sm GROUP BY k;
DELETE FROM pg WHERE n_obj = 1 AND n_unlinked = 0;
INSERT INTO cf
SELECT sig, CASE WHEN n_obj >= 2 THEN 'email_collision' WHEN n_raw > 1 THEN 'case_only'
                 WHEN n_obj = 1 THEN 'manual_twin' ELSE 'email_collision' END,
       CASE WHEN any_un THEN 'userName' ELSE 'email' END, raw, NULL,
       CASE WHEN n_obj >= 2 THEN 'two_idp_objects' WHEN n_obj = 0 AND n_raw = 1 THEN 'unlinked_accounts'
            ELSE 'shared_address' END, 2
FROM pg;
INSERT INTO cev
SELECT pg.sig, sm.uid, CASE WHEN sm.as_un THEN 'userName' ELSE 'email' END, sm.raw FROM pg JOIN sm USING (k)
"""),
    ("shared externalId", """
CREATE OR REPLACE TEMP TABLE xd AS SELECT external_id FROM pu
 WHERE merged_into_id IS NULL AND external_id IS NOT NULL GROUP BY external_id HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE xm AS SELECT p.external_id, p.id FROM pu p SEMI JOIN xd USING (external_id)
 WHERE p.merged_into_id IS NULL;
CREATE OR REPLACE TEMP TABLE xg AS SELECT external_id, string_agg(id, ',' ORDER BY id) AS sig FROM xm
 GROUP BY external_id;
INSERT INTO cf
SELECT sig, 'scim_twins', 'externalId', external_id, external_id, 'shared_external_id', 2 FROM xg;
INSERT INTO cev SELECT xg.sig, xm.id, 'externalId', xm.external_id FROM xg JOIN xm USING (external_id)
"""),
]

# Entra users joined to the accounts that stand for them, keeping only the rows that can matter:
# unlinked Entra users, accounts whose keys differ from Entra's UPN/mail or that have more emails,
# Entra users whose UPN/mail several accounts hold, and accounts without email whose Entra user has one.
# (Findings show the Entra user's UPN/mail when it is one of these rows: nothing else needs them.)
_INTERESTING = f"""
       p.id IS NULL OR p.multi
    OR NOT (e.upn_k IS NOT DISTINCT FROM p.un_k OR e.upn_k IS NOT DISTINCT FROM p.e1_k)
    OR (e.mail_k IS NOT NULL
        AND NOT (e.mail_k IS NOT DISTINCT FROM p.un_k OR e.mail_k IS NOT DISTINCT FROM p.e1_k))
    OR ({_real('p.e1_k')} AND p.e1_k IS DISTINCT FROM coalesce(e.mail_k, e.upn_k))
    OR (p.e1_k IS NULL AND e.mail_k IS NOT NULL)
    OR e.upn_k IN (SELECT k FROM sk) OR e.mail_k IN (SELECT k FROM sk)"""

ENTRA_STEPS: list[tuple[str, str]] = [
    ("links to Entra users", f"""
CREATE OR REPLACE TEMP TABLE el0 AS
SELECT e.object_id, p.id AS uid, p.idp_link = e.object_id AS by_link
FROM (SELECT object_id, upn_k, mail_k FROM e) e
LEFT JOIN (SELECT id, external_id, idp_link, un_k, e1_k, multi FROM pu
           WHERE merged_into_id IS NULL AND external_id IS NOT NULL) p ON p.external_id = e.object_id
WHERE {_INTERESTING};
CREATE OR REPLACE TEMP TABLE el AS
SELECT l.object_id, l.uid, CASE WHEN l.by_link THEN 'idp_link' ELSE 'externalId' END AS via,
       e.upn, e.upn_k, e.mail, e.mail_k, e.enabled, p.un_k, p.e1, p.e1_k
FROM el0 l JOIN (SELECT * FROM e SEMI JOIN el0 USING (object_id)) e USING (object_id)
LEFT JOIN (SELECT id, un_k, e1, e1_k FROM pu WHERE id IN (SELECT uid FROM el0)) p ON p.id = l.uid
UNION ALL
SELECT e.object_id, p.id, 'idp_link', e.upn, e.upn_k, e.mail, e.mail_k, e.enabled, p.un_k, p.e1, p.e1_k
FROM e JOIN (SELECT * FROM pu WHERE merged_into_id IS NULL AND idp_link IS NOT NULL
             AND idp_link IS DISTINCT FROM external_id) p ON p.idp_link = e.object_id;
DELETE FROM el WHERE uid IS NULL AND object_id IN (SELECT object_id FROM el WHERE uid IS NOT NULL)
"""),
]

WANTS_STEPS: list[tuple[str, str]] = [
    ("what Entra wants", """
CREATE OR REPLACE TEMP TABLE ew AS
SELECT object_id, any_value(upn) AS upn, any_value(upn_k) AS upn_k, any_value(mail) AS mail,
       any_value(mail_k) AS mail_k, any_value(enabled) AS enabled
FROM el GROUP BY object_id;
CREATE OR REPLACE TEMP TABLE wants AS
SELECT row_number() OVER () AS wid, * FROM (
  SELECT object_id AS obj, NULL::VARCHAR AS uid_hint, NULL::VARCHAR AS scim_hint, upn_k AS k, upn AS raw,
         'export' AS src, 'userPrincipalName' AS attr, enabled FROM ew WHERE upn_k IS NOT NULL
  UNION ALL
  SELECT object_id, NULL, NULL, mail_k, mail, 'export', 'mail', enabled FROM ew
   WHERE mail_k IS NOT NULL AND mail_k IS DISTINCT FROM upn_k
  UNION ALL
  SELECT DISTINCT obj, uid_hint, scim_hint, k, raw, 'log', 'log', NULL::BOOLEAN FROM (
     SELECT obj, uid_hint, scim_hint, upn_k AS k, upn AS raw FROM ev WHERE wants AND upn_k IS NOT NULL
     UNION ALL
     SELECT obj, uid_hint, scim_hint, unnest(string_split(mail_ks, chr(31))),
            unnest(string_split(mails, chr(31))) FROM ev WHERE wants AND coalesce(mail_ks, '') <> '')
)
"""),
    ("accounts of each Entra user", """
CREATE OR REPLACE TEMP TABLE wown AS
SELECT DISTINCT wid, uid FROM (
  SELECT w.wid, p.id AS uid FROM wants w JOIN pu p ON p.obj = w.obj WHERE p.merged_into_id IS NULL
  UNION ALL
  SELECT w.wid, p.id FROM wants w JOIN (SELECT id, idp_link FROM pu WHERE merged_into_id IS NULL
      AND idp_link IS NOT NULL AND idp_link IS DISTINCT FROM external_id) p ON p.idp_link = w.obj
  UNION ALL
  SELECT w.wid, p.id FROM (SELECT * FROM wants WHERE uid_hint IS NOT NULL) w JOIN pu p ON p.id = w.uid_hint
   WHERE p.merged_into_id IS NULL
  UNION ALL
  SELECT w.wid, p.id FROM (SELECT * FROM wants WHERE scim_hint IS NOT NULL) w JOIN pu p
      ON p.scim_id = w.scim_hint WHERE p.merged_into_id IS NULL)
"""),
    ("foreign holders", """
CREATE OR REPLACE TEMP TABLE wh0 AS
SELECT w.wid, w.obj, w.k, w.raw, w.src, w.attr, w.enabled, ak.uid AS holder, ak.raw AS hraw, ak.as_un
FROM wants w JOIN ak ON ak.k = w.k;
CREATE OR REPLACE TEMP TABLE wh AS
SELECT row_number() OVER () AS rid, wh0.*, p.obj AS hobj
FROM wh0 JOIN pu p ON p.id = wh0.holder
WHERE NOT EXISTS (SELECT 1 FROM wown o WHERE o.wid = wh0.wid AND o.uid = wh0.holder);
CREATE OR REPLACE TEMP TABLE whm AS
SELECT rid, holder AS uid, TRUE AS is_holder FROM wh
UNION ALL SELECT wh.rid, o.uid, FALSE FROM wh JOIN wown o USING (wid);
CREATE OR REPLACE TEMP TABLE whs AS
SELECT wh.*, s.sig, s.n_own FROM wh JOIN (
  SELECT rid, string_agg(uid, ',' ORDER BY uid) AS sig, count(*) FILTER (WHERE NOT is_holder) AS n_own
  FROM whm GROUP BY rid) s USING (rid)
WHERE wh.hobj IS NOT NULL OR s.n_own > 0 OR wh.src = 'log';
INSERT INTO cf
SELECT sig, CASE WHEN hobj IS NOT NULL THEN 'email_collision'
                 WHEN n_own > 0 AND hraw <> raw THEN 'case_only'
                 WHEN n_own > 0 THEN 'manual_twin' ELSE 'email_collision' END,
       CASE WHEN as_un THEN 'userName' ELSE 'email' END, hraw, obj,
       CASE WHEN src = 'log' THEN 'log_conflict' ELSE 'entra_wants' END,
       CASE WHEN src = 'export' AND enabled THEN 0 WHEN src = 'export' THEN 1 ELSE 2 END
FROM whs;
INSERT INTO cev SELECT sig, holder, CASE WHEN as_un THEN 'userName' ELSE 'email' END, hraw FROM whs;
INSERT INTO cev
SELECT whs.sig, p.id,
       CASE WHEN p.idp_link = whs.obj THEN 'idp_link' WHEN p.external_id = whs.obj THEN 'externalId'
            ELSE 'userName' END,
       CASE WHEN p.idp_link = whs.obj OR p.external_id = whs.obj THEN whs.obj ELSE p.user_name END
FROM whs JOIN whm ON whm.rid = whs.rid AND NOT whm.is_holder JOIN pu p ON p.id = whm.uid
"""),
]

STALE_STEP = ("stale emails", f"""
CREATE OR REPLACE TEMP TABLE st AS
SELECT object_id, uid, via, e1, upn, mail,
       CASE WHEN mail_k IS NULL THEN 'mail_removed' ELSE 'mail_changed' END AS detail
FROM el
WHERE uid IS NOT NULL AND {_real('e1_k')} AND (
      (mail_k IS NULL AND e1_k IS DISTINCT FROM upn_k)
   OR (mail_k IS NOT NULL AND e1_k <> mail_k
       AND object_id NOT IN (SELECT obj FROM whs WHERE src = 'export' AND attr = 'mail')));
INSERT INTO cf SELECT uid, 'stale_email', via, e1, object_id, detail, 2 FROM st;
INSERT INTO cev SELECT uid, uid, via, object_id FROM st UNION ALL SELECT uid, uid, 'email', e1 FROM st
""")

HYGIENE_STEP = ("userName ≠ email, no email", f"""
CREATE OR REPLACE TEMP TABLE hy AS
SELECT id, user_name, e1, obj, CASE WHEN emails = '' THEN 'no_email' ELSE 'username_not_email' END AS cls
FROM pu WHERE merged_into_id IS NULL
  AND (emails = '' OR ({_real('e1_k')} AND {_real('un_k')} AND un_k <> e1_k));
INSERT INTO cf SELECT id, cls, CASE cls WHEN 'no_email' THEN 'userName' ELSE 'email' END,
                      CASE cls WHEN 'no_email' THEN user_name ELSE e1 END, obj, '', 2 FROM hy;
INSERT INTO cev SELECT id, id, 'userName', user_name FROM hy
""")

_DUPLICATES = "('manual_twin', 'scim_twins', 'email_collision', 'case_only')"

# One finding per set of accounts (the most specific reading wins); the weak single-account signals
# of accounts a duplicate finding already covers are dropped; the findings are numbered.
ASSEMBLE_STEPS: list[tuple[str, str]] = [
    ("one finding per set of accounts", f"""
CREATE OR REPLACE TEMP TABLE fg AS
SELECT substr(md5(cls || '|' || sig), 1, 16) AS fid, sig, cls, key_kind, value, detail, obj FROM (
  SELECT cf.*, row_number() OVER (
           PARTITION BY sig
           ORDER BY c.prio, CASE cf.detail WHEN 'entra_wants' THEN 0 WHEN 'log_conflict' THEN 2 ELSE 1 END,
                    cf.orank, coalesce(kr.r, 9), cf.value, coalesce(cf.obj, '')) AS pick
  FROM cf JOIN classes c USING (cls) LEFT JOIN key_rank kr ON kr.key_kind = cf.key_kind)
WHERE pick = 1;
CREATE OR REPLACE TEMP TABLE dup_members AS
SELECT DISTINCT unnest(string_split(sig, ',')) AS uid FROM fg
WHERE cls IN {_DUPLICATES} AND contains(sig, ',');
DELETE FROM fg WHERE cls IN ('username_not_email', 'stale_email') AND sig IN (SELECT uid FROM dup_members)
"""),
    ("findings table", """
CREATE OR REPLACE TEMP TABLE fm0 AS SELECT fid, unnest(string_split(sig, ',')) AS uid FROM fg;
CREATE OR REPLACE TEMP TABLE fmembers AS
SELECT m.fid, m.uid,
       row_number() OVER (PARTITION BY m.fid ORDER BY p.obj IS NOT NULL, p.created_via = 'scim', p.user_name,
                          m.uid) AS pos,
       p.user_name, p.emails, p.display_name, p.obj
FROM fm0 m JOIN pu p ON p.id = m.uid;
CREATE OR REPLACE TABLE findings AS
SELECT fg.fid, fg.cls, c.rank, c.severity, c.sev_rank,
       fg.key_kind, fg.value, fg.detail, fg.sig, fg.obj AS object_id, e.upn AS entra_upn,
       e.mail AS entra_mail, n.accounts, 0 AS log_events, n.user_names,
       lower(concat_ws(' ', n.text, fg.value, fg.obj, e.upn, e.mail, fg.cls, fg.detail)) AS search
FROM fg JOIN classes c USING (cls)
JOIN (SELECT fid, count(*) AS accounts, string_agg(user_name, ', ' ORDER BY pos) AS user_names,
             string_agg(concat_ws(' ', user_name, replace(emails, chr(31), ' '), display_name, uid), ' '
                        ORDER BY pos) AS text
      FROM fmembers GROUP BY fid) n ON n.fid = fg.fid
LEFT JOIN ew e ON e.object_id = fg.obj
"""),
]

LOG_EVIDENCE_STEP = ("log evidence", """
CREATE OR REPLACE TEMP TABLE fkv AS
SELECT m.fid, ak.k AS v FROM fmembers m JOIN ak ON ak.uid = m.uid
UNION SELECT m.fid, p.scim_id FROM fmembers m JOIN pu p ON p.id = m.uid WHERE p.scim_id IS NOT NULL
UNION SELECT fid, obj FROM fmembers WHERE obj IS NOT NULL
UNION SELECT fid, uid FROM fmembers
UNION SELECT fid, object_id FROM findings WHERE object_id IS NOT NULL;
CREATE OR REPLACE TEMP TABLE evk AS
SELECT seq, upn_k AS v FROM ev WHERE upn_k IS NOT NULL
UNION SELECT seq, obj FROM ev WHERE obj IS NOT NULL
UNION SELECT seq, uid_hint FROM ev WHERE uid_hint IS NOT NULL
UNION SELECT seq, scim_hint FROM ev WHERE scim_hint IS NOT NULL
UNION SELECT seq, unnest(string_split(mail_ks, chr(31))) FROM ev WHERE mail_ks IS NOT NULL AND mail_ks <> '';
CREATE OR REPLACE TABLE flog AS SELECT DISTINCT fkv.fid, evk.seq FROM fkv JOIN evk USING (v);
UPDATE findings SET log_events = c.n FROM (SELECT fid, count(*) AS n FROM flog GROUP BY fid) c
 WHERE findings.fid = c.fid
""")
NO_LOG_EVIDENCE_STEP = ("log evidence", "CREATE OR REPLACE TABLE flog (fid VARCHAR, seq BIGINT)")

EVIDENCE_STEP = ("key evidence", """
CREATE OR REPLACE TABLE fevidence AS
SELECT DISTINCT f.fid, cev.uid, cev.key_kind, cev.value FROM cev JOIN findings f ON f.sig = cev.sig
""")

# Only collisions use it (a holder whose Entra user is gone has a stale link to clear).
ABSENT_STEP = ("Entra users gone", """
CREATE OR REPLACE TABLE fabsent AS
WITH held AS (SELECT m.fid, m.obj FROM fmembers m JOIN findings f USING (fid)
              WHERE f.cls = 'email_collision' AND m.obj IS NOT NULL)
SELECT fid, obj FROM held
WHERE obj NOT IN (SELECT object_id FROM e WHERE object_id IN (SELECT obj FROM held))
""")
NO_ABSENT_STEP = ("Entra users gone", "CREATE OR REPLACE TABLE fabsent (fid VARCHAR, obj VARCHAR)")
