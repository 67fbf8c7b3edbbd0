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
CREATE OR REPLACE TEMP TABLE cf (cls VARCHAR, members VARCHAR[], key_kind VARCHAR, value VARCHAR,
    obj VARCHAR, detail VARCHAR);
CREATE OR REPLACE TEMP TABLE cev (members VARCHAR[], uid VARCHAR, key_kind VARCHAR, value VARCHAR);
"""

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
CREATE OR REPLACE TEMP TABLE sm AS SELECT ak.* FROM ak SEMI JOIN sk USING (k);
CREATE OR REPLACE TEMP TABLE pg AS
SELECT sm.k, list(sm.uid ORDER BY sm.uid) AS members, count(DISTINCT p.obj) AS n_obj,
       count(*) FILTER (WHERE p.obj IS NULL) AS n_unlinked, count(DISTINCT sm.raw) AS n_raw,
       bool_or(sm.as_un) AS any_un, min(sm.raw) AS raw
FROM sm JOIN pu p ON p.id = sm.uid GROUP BY sm.k;
INSERT INTO cf
SELECT CASE WHEN n_obj >= 2 THEN 'email_collision' WHEN n_raw > 1 THEN 'case_only'
            WHEN n_obj = 1 THEN 'manual_twin' ELSE 'email_collision' END,
       members, CASE WHEN any_un THEN 'userName' ELSE 'email' END, raw, NULL,
       CASE WHEN n_obj >= 2 THEN 'two_idp_objects' WHEN n_obj = 0 AND n_raw = 1 THEN 'unlinked_accounts'
            ELSE 'shared_address' END
FROM pg WHERE NOT (n_obj = 1 AND n_unlinked = 0);
INSERT INTO cev
SELECT pg.members, sm.uid, CASE WHEN sm.as_un THEN 'userName' ELSE 'email' END, sm.raw
FROM pg JOIN sm USING (k) WHERE NOT (pg.n_obj = 1 AND pg.n_unlinked = 0)
"""),
    ("shared externalId", """
CREATE OR REPLACE TEMP TABLE xg AS
SELECT external_id, list(id ORDER BY id) AS members FROM pu
 WHERE merged_into_id IS NULL AND external_id IS NOT NULL GROUP BY external_id HAVING count(*) > 1;
INSERT INTO cf
SELECT 'scim_twins', members, 'externalId', external_id, external_id, 'shared_external_id' FROM xg;
INSERT INTO cev SELECT members, unnest(members), 'externalId', external_id FROM xg
"""),
]

ENTRA_STEPS: list[tuple[str, str]] = [
    ("links to Entra users", """
CREATE OR REPLACE TEMP TABLE el AS
SELECT e.object_id, p.id AS uid,
       CASE WHEN p.idp_link = e.object_id THEN 'idp_link' ELSE 'externalId' END AS via,
       e.upn, e.upn_k, e.mail, e.mail_k, p.un_k, p.e1, p.e1_k, contains(p.emails, chr(31)) AS multi
FROM e JOIN pu p ON p.external_id = e.object_id WHERE p.merged_into_id IS NULL
UNION ALL
SELECT e.object_id, p.id, 'idp_link', e.upn, e.upn_k, e.mail, e.mail_k, p.un_k, p.e1, p.e1_k,
       contains(p.emails, chr(31))
FROM e JOIN (SELECT * FROM pu WHERE merged_into_id IS NULL AND idp_link IS NOT NULL
             AND idp_link IS DISTINCT FROM external_id) p ON p.idp_link = e.object_id
"""),
    ("Entra users to check", """
CREATE OR REPLACE TEMP TABLE ecand AS
SELECT object_id FROM el
 WHERE multi OR NOT (upn_k IS NOT DISTINCT FROM un_k OR upn_k IS NOT DISTINCT FROM e1_k)
    OR (mail_k IS NOT NULL AND NOT (mail_k IS NOT DISTINCT FROM un_k OR mail_k IS NOT DISTINCT FROM e1_k))
UNION
SELECT object_id FROM e ANTI JOIN el USING (object_id)
UNION
SELECT object_id FROM e WHERE upn_k IN (SELECT k FROM sk) OR mail_k IN (SELECT k FROM sk)
"""),
]

WANTS_STEPS: list[tuple[str, str]] = [
    ("what Entra wants", """
CREATE OR REPLACE TEMP TABLE wants AS
SELECT row_number() OVER () AS wid, * FROM (
  SELECT e.object_id AS obj, NULL::VARCHAR AS uid_hint, NULL::VARCHAR AS scim_hint, e.upn_k AS k,
         e.upn AS raw, 'export' AS src, 'userPrincipalName' AS attr
    FROM e SEMI JOIN ecand USING (object_id) WHERE e.upn_k IS NOT NULL
  UNION ALL
  SELECT e.object_id, NULL, NULL, e.mail_k, e.mail, 'export', 'mail' FROM e SEMI JOIN ecand USING (object_id)
   WHERE e.mail_k IS NOT NULL AND e.mail_k IS DISTINCT FROM e.upn_k
  UNION ALL
  SELECT DISTINCT obj, uid_hint, scim_hint, k, raw, 'log', 'log' FROM (
     SELECT obj, uid_hint, scim_hint, upn_k AS k, upn AS raw FROM ev WHERE wants AND upn_k IS NOT NULL
     UNION ALL
     SELECT obj, uid_hint, scim_hint, unnest(string_split(mail_ks, chr(31))),
            unnest(string_split(mails, chr(31))) FROM ev WHERE wants AND coalesce(mail_ks, '') <> '')
)
"""),
    ("accounts of each Entra user", """
CREATE OR REPLACE TEMP TABLE wown AS
SELECT DISTINCT w.wid, p.id AS uid FROM wants w JOIN pu p
  ON p.merged_into_id IS NULL AND (p.external_id = w.obj OR p.idp_link = w.obj OR p.id = w.uid_hint
                                   OR p.scim_id = w.scim_hint)
"""),
    ("foreign holders", """
CREATE OR REPLACE TEMP TABLE wh AS
SELECT w.wid, w.obj, w.k, w.raw, w.src, w.attr, ak.uid AS holder, ak.raw AS hraw, ak.as_un, p.obj AS hobj
FROM wants w JOIN ak ON ak.k = w.k JOIN pu p ON p.id = ak.uid
LEFT JOIN wown o ON o.wid = w.wid AND o.uid = ak.uid
WHERE o.uid IS NULL;
CREATE OR REPLACE TEMP TABLE whc AS
SELECT wh.*, coalesce(o.own, []::VARCHAR[]) AS own FROM wh
LEFT JOIN (SELECT wid, list(uid ORDER BY uid) AS own FROM wown GROUP BY wid) o USING (wid);
INSERT INTO cf
SELECT CASE WHEN hobj IS NOT NULL THEN 'email_collision'
            WHEN len(own) > 0 AND hraw <> raw THEN 'case_only'
            WHEN len(own) > 0 THEN 'manual_twin'
            ELSE 'email_collision' END,
       list_sort(list_distinct(list_append(own, holder))),
       CASE WHEN as_un THEN 'userName' ELSE 'email' END, hraw, obj,
       CASE WHEN src = 'log' THEN 'log_conflict' ELSE 'entra_wants' END
FROM whc WHERE hobj IS NOT NULL OR len(own) > 0 OR src = 'log';
INSERT INTO cev
SELECT list_sort(list_distinct(list_append(own, holder))), holder,
       CASE WHEN as_un THEN 'userName' ELSE 'email' END, hraw
FROM whc WHERE hobj IS NOT NULL OR len(own) > 0 OR src = 'log';
INSERT INTO cev
SELECT o.members, o.uid,
       CASE WHEN p.idp_link = o.obj THEN 'idp_link' WHEN p.external_id = o.obj THEN 'externalId'
            ELSE 'userName' END,
       CASE WHEN p.idp_link = o.obj OR p.external_id = o.obj THEN o.obj ELSE p.user_name END
FROM (SELECT list_sort(list_distinct(list_append(own, holder))) AS members, obj, unnest(own) AS uid
      FROM whc WHERE hobj IS NOT NULL OR len(own) > 0 OR src = 'log') o JOIN pu p ON p.id = o.uid
"""),
]

STALE_STEP = ("stale emails", f"""
CREATE OR REPLACE TEMP TABLE st AS
SELECT object_id, uid, via, e1, upn, mail,
       CASE WHEN mail_k IS NULL THEN 'mail_removed' ELSE 'mail_changed' END AS detail
FROM el
WHERE {_real('e1_k')} AND (
      (mail_k IS NULL AND e1_k IS DISTINCT FROM upn_k)
   OR (mail_k IS NOT NULL AND e1_k <> mail_k
       AND object_id NOT IN (SELECT obj FROM wh WHERE src = 'export' AND attr = 'mail')));
INSERT INTO cf SELECT 'stale_email', [uid], via, e1, object_id, detail FROM st;
INSERT INTO cev SELECT [uid], uid, via, object_id FROM st;
INSERT INTO cev SELECT [uid], uid, 'email', e1 FROM st
""")

HYGIENE_STEP = ("userName ≠ email, no email", f"""
INSERT INTO cf SELECT 'username_not_email', [id], 'email', e1, NULL, '' FROM pu
 WHERE merged_into_id IS NULL AND {_real('e1_k')} AND {_real('un_k')} AND un_k <> e1_k;
INSERT INTO cev SELECT [id], id, 'userName', user_name FROM pu
 WHERE merged_into_id IS NULL AND {_real('e1_k')} AND {_real('un_k')} AND un_k <> e1_k;
INSERT INTO cf SELECT 'no_email', [id], 'userName', user_name, NULL, '' FROM pu
 WHERE merged_into_id IS NULL AND coalesce(emails, '') = '';
INSERT INTO cev SELECT [id], id, 'userName', user_name FROM pu
 WHERE merged_into_id IS NULL AND coalesce(emails, '') = ''
""")

# Dedupe by the set of accounts; attach the Entra user; drop the weak single-account signals for
# accounts that another finding already covers; number the findings.
ASSEMBLE_STEPS: list[tuple[str, str]] = [
    ("one finding per set of accounts", """
CREATE OR REPLACE TEMP TABLE cfs AS
SELECT cf.*, array_to_string(list_sort(list_distinct(members)), ',') AS sig, c.prio, coalesce(kr.r, 9) AS kr,
       CASE cf.detail WHEN 'entra_wants' THEN 0 WHEN 'log_conflict' THEN 2 ELSE 1 END AS srank,
       CASE WHEN en.enabled THEN 0 WHEN en.enabled IS NULL THEN 2 ELSE 1 END AS orank
FROM cf JOIN classes c USING (cls) LEFT JOIN key_rank kr ON kr.key_kind = cf.key_kind
LEFT JOIN (SELECT object_id, bool_or(enabled) AS enabled FROM e
           WHERE object_id IN (SELECT obj FROM cf WHERE obj IS NOT NULL) GROUP BY object_id) en
       ON en.object_id = cf.obj;
CREATE OR REPLACE TEMP TABLE fg AS
SELECT sig, arg_min(cls, o) AS cls, arg_min(key_kind, o) AS key_kind, arg_min(value, o) AS value,
       arg_min(detail, o) AS detail, arg_min(obj, o) AS obj, arg_min(members, o) AS members
FROM (SELECT *, (prio, srank, orank, kr, value, coalesce(obj, '')) AS o FROM cfs) GROUP BY sig;
CREATE OR REPLACE TEMP TABLE dup_members AS
SELECT DISTINCT unnest(members) AS uid FROM fg
WHERE cls IN ('manual_twin', 'scim_twins', 'email_collision', 'case_only');
DELETE FROM fg WHERE cls = 'username_not_email' AND members[1] IN (SELECT uid FROM dup_members);
DELETE FROM fg WHERE cls = 'username_not_email' AND members[1] IN
    (SELECT members[1] FROM fg WHERE cls IN ('stale_email', 'no_email'));
DELETE FROM fg WHERE cls = 'stale_email' AND members[1] IN (SELECT uid FROM dup_members)
"""),
    ("findings table", """
CREATE OR REPLACE TEMP TABLE fmembers AS
SELECT m.fid, m.uid, row_number() OVER (PARTITION BY m.fid ORDER BY p.obj IS NOT NULL, p.created_via = 'scim',
                                        p.user_name, m.uid) AS pos
FROM (SELECT substr(md5(cls || '|' || sig), 1, 16) AS fid, unnest(list_distinct(members)) AS uid FROM fg) m
JOIN pu p ON p.id = m.uid;
CREATE OR REPLACE TABLE findings AS
SELECT substr(md5(fg.cls || '|' || fg.sig), 1, 16) AS fid, fg.cls, c.rank, c.severity, c.sev_rank,
       fg.key_kind, fg.value, fg.detail, fg.sig, fg.obj AS object_id,
       e.upn AS entra_upn, e.mail AS entra_mail, len(list_distinct(fg.members)) AS accounts,
       0 AS log_events
FROM fg JOIN classes c USING (cls)
LEFT JOIN (SELECT object_id, min(upn) AS upn, min(mail) AS mail FROM e
           WHERE object_id IN (SELECT obj FROM fg WHERE obj IS NOT NULL) GROUP BY object_id) e
       ON e.object_id = fg.obj;
CREATE OR REPLACE TEMP TABLE fnames AS
SELECT m.fid, string_agg(p.user_name, ', ' ORDER BY m.pos) AS user_names,
       string_agg(concat_ws(' ', p.user_name, replace(p.emails, chr(31), ' '), p.display_name, p.id), ' '
                  ORDER BY m.pos) AS text
FROM fmembers m JOIN pu p ON p.id = m.uid GROUP BY m.fid;
CREATE OR REPLACE TABLE findings AS
SELECT f.*, n.user_names,
       lower(concat_ws(' ', n.text, f.value, f.object_id, f.entra_upn, f.entra_mail, f.cls, f.detail))
           AS search
FROM findings f JOIN fnames n USING (fid)
"""),
]

LOG_EVIDENCE_STEP = ("log evidence", """
CREATE OR REPLACE TEMP TABLE fkv AS
SELECT m.fid, ak.k AS v FROM fmembers m JOIN ak ON ak.uid = m.uid
UNION SELECT m.fid, p.scim_id FROM fmembers m JOIN pu p ON p.id = m.uid WHERE p.scim_id IS NOT NULL
UNION SELECT m.fid, p.obj FROM fmembers m JOIN pu p ON p.id = m.uid WHERE p.obj IS NOT NULL
UNION SELECT m.fid, m.uid FROM fmembers m
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

EVIDENCE_STEP = ("key evidence", """
CREATE OR REPLACE TABLE fevidence AS
SELECT DISTINCT f.fid, cev.uid, cev.key_kind, cev.value
FROM cev JOIN findings f ON f.sig = array_to_string(list_sort(list_distinct(cev.members)), ',')
""")
