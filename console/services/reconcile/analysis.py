"""The reconciliation rules as SQL (entra-facts §3.4 rules 1–3, 7–9), one statement per step.

Why it is shaped like this: at 1 M platform users × 1 M Entra rows the only affordable work is a
handful of hash joins and aggregations over narrow columns (performance-notes §3.5). Almost every
row is clean — the Entra user's UPN and mail are its own account's userName and email and no one else
holds them — so each rule first narrows to the few rows that can be interesting (shared keys, rows
whose keys differ from their account's, unlinked Entra users) and does the expensive comparisons
on those only. On this machine fresh memory costs about a second per GB, so what is *materialised*
matters as much as what is computed: the million-row passes keep only integer row ids (``pu.rowid``)
and keys, account keys are a view, and the candidate findings and their evidence are views over the
few rows each rule kept — nothing of a million rows is copied twice.

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
5. **Likely twins** (``TWIN_STEP``): a manual account and a SCIM account with the same folded display
   name and no shared key → ``manual_twin`` (``name_match``) with a confidence and its signals.
6. **Hygiene**: ``username_not_email`` (not reported for accounts already in another finding — the
   weaker signal) and ``no_email``.

Findings found by several rules for the same accounts are one finding (the most specific class names
it, the strongest key of rule 1 is shown, every key found is kept as evidence). When the Entra export
says who owns the address, that reading wins over the platform-only one and over the logs'; when two
Entra users claim one address (a departed user's UPN is now another's mail) the enabled one owns it.
"""

from __future__ import annotations

from console.core.reconcile.findings import CLASS_INFO, CLASS_PRIORITY, SEVERITY_RANK
from console.core.reconcile.rules import KEY_ORDER, PLACEHOLDER_SUFFIX

PH = f"'{PLACEHOLDER_SUFFIX}'"


def _real(col: str) -> str:
    """SQL: ``col`` is a usable identity key (present, not a released/merged placeholder)."""
    return f"({col} IS NOT NULL AND {col} <> '' AND NOT ends_with({col}, {PH}))"


def _obj(alias: str = "") -> str:
    """SQL: the Entra object an account stands for (``Account.idp_object``), computed where needed."""
    p = f"{alias}." if alias else ""
    return f"coalesce({p}external_id, {p}idp_link)"


def member_order(alias: str = "") -> str:
    """SQL ORDER BY of a finding's accounts (``fmembers``): unlinked first, then not SCIM-created, by
    userName."""
    p = f"{alias}." if alias else ""
    return f"{p}obj IS NOT NULL, {p}by_scim, {p}user_name, {p}uid"


def member_key(alias: str = "") -> str:
    """SQL: :func:`member_order` as one sortable value (NULLs last, as there), for ``arg_min``/``arg_max``:
    ordered aggregates sort every group apart and cost ~3 µs a row; most findings have two accounts."""
    p = f"{alias}." if alias else ""
    return (f"({p}obj IS NOT NULL, {p}by_scim IS NULL, {p}by_scim, {p}user_name IS NULL, {p}user_name, "
            f"{p}uid)")


def _listed(col: str, sep: str, members: str, alias: str = "") -> str:
    """SQL: the subquery ``(fid, accounts, listed)`` that lists ``col`` of each finding's accounts in
    :func:`member_order`, like ``string_agg(col, sep ORDER BY …)``; ``members`` is the FROM clause of
    ``fmembers`` (aliased ``alias``) with whatever it joins."""
    m = f"{alias}." if alias else ""
    return f"""(
  WITH two AS (SELECT {m}fid, count(*) AS n, arg_min_null({col}, {member_key(alias)}) AS a,
                      arg_max_null({col}, {member_key(alias)}) AS b
               FROM {members} WHERE {m}many GROUP BY {m}fid)
  SELECT {m}fid, 1 AS accounts, {col} AS listed FROM {members} WHERE NOT {m}many
  UNION ALL
  SELECT fid, n, CASE WHEN a IS NULL OR b IS NULL THEN coalesce(a, b) ELSE a || '{sep}' || b END
  FROM two WHERE n = 2
  UNION ALL
  SELECT {m}fid, count(*), string_agg({col}, '{sep}' ORDER BY {member_order(alias)}) FROM {members}
  WHERE {m}many AND {m}fid IN (SELECT fid FROM two WHERE n > 2) GROUP BY {m}fid)"""


def class_rows() -> list[tuple[str, int, str, int, int]]:
    """(class, rank, severity, severity rank, priority) for the ``classes`` table."""
    return [(str(c), info.rank, info.severity, SEVERITY_RANK[info.severity], CLASS_PRIORITY.index(c))
            for c, info in CLASS_INFO.items()]


def key_rows() -> list[tuple[str, int]]:
    return [(k, i) for i, k in enumerate(KEY_ORDER)]


# A candidate finding is named by ``sig``: its accounts' ids, sorted, comma-joined. Single-account
# candidates of one account share a sig, so the most specific class wins without extra work. Accounts
# travel as ``rid`` (``pu.rowid``) next to their id: joins back to the million-row ``pu`` go by that
# integer, never by the string id.

PLATFORM_STEPS: list[tuple[str, str]] = [
    # ``ak`` is a view: a million keys are grouped and probed, never copied. The further emails of
    # multi-email accounts (few) are grouped once.
    ("account keys", f"""
CREATE OR REPLACE TEMP TABLE okk AS
SELECT o.rid, o.uid, o.k, min(o.raw) AS raw, any_value({_obj('p')}) AS obj
FROM ok o JOIN pu p ON p.rowid = o.rid
 WHERE p.merged_into_id IS NULL AND {_real('o.k')}
   AND o.k IS DISTINCT FROM p.un_k AND o.k IS DISTINCT FROM p.e1_k
 GROUP BY o.rid, o.uid, o.k;
CREATE OR REPLACE TEMP VIEW ak AS
SELECT rowid AS rid, id AS uid, un_k AS k, user_name AS raw, TRUE AS as_un, {_obj()} AS obj FROM pu
 WHERE merged_into_id IS NULL AND {_real('un_k')}
UNION ALL
SELECT rowid, id, e1_k, e1, FALSE, {_obj()} FROM pu
 WHERE merged_into_id IS NULL AND {_real('e1_k')} AND e1_k IS DISTINCT FROM un_k
UNION ALL
SELECT rid, uid, k, raw, FALSE, obj FROM okk
"""),
    # Grouping a million strings copies them into the hash table; grouping their 64-bit hashes does
    # not. The hash only narrows: the few rows whose hash repeats are grouped again by the key itself,
    # so a hash collision can never make two keys look shared.
    ("shared keys", """
CREATE OR REPLACE TEMP TABLE skh AS SELECT hash(k) AS h FROM ak GROUP BY ALL HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE sm AS
SELECT * EXCLUDE (n) FROM (SELECT ak.*, count(*) OVER (PARTITION BY k) AS n FROM ak
                           WHERE hash(k) IN (SELECT h FROM skh))
WHERE n > 1;
CREATE OR REPLACE TEMP TABLE sk AS SELECT DISTINCT k FROM sm
"""),
    ("shared-key groups", """
CREATE OR REPLACE TEMP TABLE pg AS
SELECT k, string_agg(uid, ',' ORDER BY uid) AS sig, count(DISTINCT obj) AS n_obj,
       count(*) FILTER (WHERE obj IS NULL) AS n_unlinked, count(DISTINCT raw) AS n_raw,
       bool_or(as_un) AS any_un, min(raw) AS raw
FROM sm GROUP BY k;
DELETE FROM pg WHERE n_obj = 1 AND n_unlinked = 0
"""),
    ("shared externalId", """
CREATE OR REPLACE TEMP TABLE xh AS SELECT hash(external_id) AS h FROM pu
 WHERE merged_into_id IS NULL AND external_id IS NOT NULL GROUP BY ALL HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE xm AS SELECT external_id, id, rid FROM (
  SELECT external_id, id, rowid AS rid, count(*) OVER (PARTITION BY external_id) AS n FROM pu
  WHERE merged_into_id IS NULL AND external_id IS NOT NULL AND hash(external_id) IN (SELECT h FROM xh))
WHERE n > 1;
CREATE OR REPLACE TEMP TABLE xg AS SELECT external_id, string_agg(id, ',' ORDER BY id) AS sig FROM xm
 GROUP BY external_id
"""),
]

# Entra users joined to the accounts that stand for them, keeping only the rows that can matter:
# unlinked Entra users, accounts whose keys differ from Entra's UPN/mail or that have more emails,
# Entra users whose UPN/mail several accounts hold, and accounts without email whose Entra user has one.
# (Findings show the Entra user's UPN/mail when it is one of these rows: nothing else needs them.)
_INTERESTING = f"""
       p.uid IS NULL OR p.multi
    OR NOT (e.upn_k IS NOT DISTINCT FROM p.un_k OR e.upn_k IS NOT DISTINCT FROM p.e1_k)
    OR (e.mail_k IS NOT NULL
        AND NOT (e.mail_k IS NOT DISTINCT FROM p.un_k OR e.mail_k IS NOT DISTINCT FROM p.e1_k))
    OR ({_real('p.e1_k')} AND p.e1_k IS DISTINCT FROM coalesce(e.mail_k, e.upn_k))
    OR (p.e1_k IS NULL AND e.mail_k IS NOT NULL)
    OR e.upn_k IN (SELECT k FROM sk) OR e.mail_k IN (SELECT k FROM sk)"""

ENTRA_STEPS: list[tuple[str, str]] = [
    # Most Entra users are *plain*: the one live account with their object id as externalId (no
    # other account has it) has one email, whose key is its userName's key and their UPN's, the
    # export's mail is absent or the same key, and no other account holds it. Such a pair meets none
    # of the conditions above, so an anti-join on two narrow keys sets them aside (no account details
    # travel through that million-row join). The rest (a few percent) meet the accounts that
    # stand for them, by externalId (kept when interesting) or by a stored link that alone names them
    # (always kept: rare, and a link that disagrees with externalId is itself worth a look). An Entra
    # user with neither is unlinked (uid NULL).
    ("links to Entra users", f"""
CREATE OR REPLACE TEMP TABLE ei AS
SELECT e.* EXCLUDE (plain) FROM (
  SELECT *, coalesce((mail_k IS NULL OR mail_k = upn_k) AND upn_k NOT IN (SELECT k FROM sk), FALSE) AS plain
  FROM e) e
ANTI JOIN (SELECT external_id, un_k, TRUE AS plain FROM pu
           WHERE merged_into_id IS NULL AND external_id IS NOT NULL AND NOT multi AND un_k = e1_k
             AND external_id NOT IN (SELECT external_id FROM xm)) p
  ON p.external_id = e.object_id AND p.un_k = e.upn_k AND p.plain = e.plain;
CREATE OR REPLACE TEMP TABLE el AS
SELECT e.object_id, p.uid, p.rid, CASE WHEN p.by_link THEN 'idp_link' ELSE 'externalId' END AS via,
       FALSE AS link_only, e.upn, e.upn_k, e.mail, e.mail_k, e.enabled, p.un_k, p.e1, p.e1_k
FROM ei e LEFT JOIN (
    SELECT external_id AS link_key, idp_link = external_id AS by_link, rowid AS rid, id AS uid, multi,
           un_k, e1, e1_k FROM pu
     WHERE merged_into_id IS NULL AND external_id IS NOT NULL) p ON p.link_key = e.object_id
WHERE {_INTERESTING}
UNION ALL
SELECT e.object_id, p.id, p.rid, 'idp_link', TRUE, e.upn, e.upn_k, e.mail, e.mail_k, e.enabled, p.un_k,
       p.e1, p.e1_k
FROM e JOIN (SELECT *, rowid AS rid FROM pu WHERE link_differs AND merged_into_id IS NULL) p
  ON p.idp_link = e.object_id;
DELETE FROM el WHERE uid IS NULL AND object_id IN (SELECT object_id FROM el WHERE link_only)
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
    # The accounts that stand for an exported Entra user (externalId or stored link) are already in
    # ``el`` (its link-only accounts, its interesting externalId accounts) and ``xm`` (all of them when
    # several share the externalId); only an Entra user with link-only accounts and one clean
    # externalId account needs a look back at ``pu`` (a probe with an empty build side costs nothing).
    # The logs' wants name objects that need not be in the export, so they are matched in ``pu``.
    ("accounts of each Entra user", f"""
CREATE OR REPLACE TEMP TABLE wown AS
SELECT DISTINCT wid, rid, uid FROM (
  SELECT w.wid, l.rid, l.uid FROM wants w JOIN el l ON l.object_id = w.obj
   WHERE w.src = 'export' AND l.rid IS NOT NULL
  UNION ALL
  SELECT w.wid, x.rid, x.id FROM wants w JOIN xm x ON x.external_id = w.obj WHERE w.src = 'export'
  UNION ALL
  SELECT w.wid, p.rowid, p.id FROM (SELECT * FROM wants WHERE src = 'export'
                                      AND obj IN (SELECT object_id FROM el WHERE link_only)) w
      JOIN pu p ON p.external_id = w.obj WHERE p.merged_into_id IS NULL
  UNION ALL
  SELECT w.wid, p.rowid, p.id FROM (SELECT * FROM wants WHERE src = 'log') w JOIN pu p ON {_obj('p')} = w.obj
   WHERE p.merged_into_id IS NULL
  UNION ALL
  SELECT w.wid, p.rid, p.id FROM (SELECT * FROM wants WHERE src = 'log') w
      JOIN (SELECT rowid AS rid, id, idp_link FROM pu WHERE link_differs AND merged_into_id IS NULL) p
      ON p.idp_link = w.obj
  UNION ALL
  SELECT w.wid, p.rowid, p.id FROM (SELECT * FROM wants WHERE uid_hint IS NOT NULL) w
      JOIN pu p ON p.id = w.uid_hint WHERE p.merged_into_id IS NULL
  UNION ALL
  SELECT w.wid, p.rowid, p.id FROM (SELECT * FROM wants WHERE scim_hint IS NOT NULL) w JOIN pu p
      ON p.scim_id = w.scim_hint WHERE p.merged_into_id IS NULL)
"""),
    # ``who``: the evidence of the Entra user's own accounts (how each stands for it), a view: only
    # the findings someone opens read it.
    ("foreign holders", """
CREATE OR REPLACE TEMP TABLE wh AS
SELECT row_number() OVER () AS hid, * FROM (
  SELECT w.wid, w.obj, w.k, w.raw, w.src, w.attr, w.enabled, ak.rid AS hrid, ak.uid AS holder,
         ak.raw AS hraw, ak.as_un, ak.obj AS hobj
  FROM wants w JOIN ak ON ak.k = w.k
  WHERE NOT EXISTS (SELECT 1 FROM wown o WHERE o.wid = w.wid AND o.rid = ak.rid));
CREATE OR REPLACE TEMP TABLE whm AS
SELECT hid, hrid AS rid, holder AS uid, TRUE AS is_holder FROM wh
UNION ALL SELECT wh.hid, o.rid, o.uid, FALSE FROM wh JOIN wown o USING (wid);
CREATE OR REPLACE TEMP TABLE whs AS
SELECT wh.*, s.sig, s.n_own FROM wh JOIN (
  SELECT hid, string_agg(uid, ',' ORDER BY uid) AS sig, count(*) FILTER (WHERE NOT is_holder) AS n_own
  FROM whm GROUP BY hid) s USING (hid)
WHERE wh.hobj IS NOT NULL OR s.n_own > 0 OR wh.src = 'log';
CREATE OR REPLACE TEMP VIEW who AS
SELECT whs.sig, whm.rid, p.id AS uid,
       CASE WHEN p.idp_link = whs.obj THEN 'idp_link' WHEN p.external_id = whs.obj THEN 'externalId'
            ELSE 'userName' END AS key_kind,
       CASE WHEN p.idp_link = whs.obj OR p.external_id = whs.obj THEN whs.obj ELSE p.user_name END AS value
FROM whs JOIN whm ON whm.hid = whs.hid AND NOT whm.is_holder JOIN pu p ON p.rowid = whm.rid
"""),
]

STALE_STEP = ("stale emails", f"""
CREATE OR REPLACE TEMP TABLE st AS
SELECT object_id, rid, uid, via, e1, upn, mail,
       CASE WHEN mail_k IS NULL THEN 'mail_removed' ELSE 'mail_changed' END AS detail
FROM el
WHERE uid IS NOT NULL AND {_real('e1_k')} AND (
      (mail_k IS NULL AND e1_k IS DISTINCT FROM upn_k)
   OR (mail_k IS NOT NULL AND e1_k <> mail_k
       AND object_id NOT IN (SELECT obj FROM whs WHERE src = 'export' AND attr = 'mail')))
""")

HYGIENE_STEP = ("userName ≠ email, no email", f"""
CREATE OR REPLACE TEMP TABLE hy AS
SELECT rowid AS rid, id, user_name, e1, {_obj()} AS obj,
       CASE WHEN emails = '' THEN 'no_email' ELSE 'username_not_email' END AS cls
FROM pu WHERE merged_into_id IS NULL
  AND (emails = '' OR ({_real('e1_k')} AND {_real('un_k')} AND un_k <> e1_k))
""")

# Likely twins without a shared key (docs/duplicates.md §3): a manual account nobody links to an IdP
# object and a SCIM-created, linked account whose display names agree after accent and case folding.
# Only the manual side is small; the SCIM side is one pass that counts the accounts per name the
# manual side has (keeping at most ``MAX_NAME_PAIRS`` row ids each, integers, no strings copied), and
# names shared by more pairs than that are not paired at all — a "John Smith" among fifty is no
# evidence. SCIM accounts already in another duplicate finding still count as namesakes. Each pair's signals:
#   local part — the manual address's local part is the SCIM userName's (``jane.doe`` ↔ ``janedoe``),
#                or its initial + last token (``jane.doe`` ↔ ``jdoe``, ``lucia.gomez`` ↔ ``lgomez``),
#                or the name's initial + family / given + family (a number the IdP appended,
#                ``jdoe2``, must match too: it often means another person took ``jdoe``);
#   one-to-one — the only manual and the only SCIM account with that name;
#   predates   — the manual account was created before the SCIM one;
#   outside    — the org's domains are known (``od``) and the manual address is at none of them: a
#                contractor's or guest's account, most likely another person;
#   both used  — both accounts logged in after the SCIM one was created: two people, most likely.
# certain = local part, one-to-one and predates, not outside, not both used; likely = two of the
# first three, not both used, and not outside unless the local part agrees; possible = the rest
# that have a local part or a one-to-one name (a shared name alone is no finding). With an Entra
# export, a pair whose manual address is another Entra user's UPN or mail is refuted.
MAX_NAME_PAIRS = 16
_LOCAL = "regexp_replace(strip_accents(lower(split_part({x}, '@', 1))), '[^a-z0-9]', '', 'g')"
_TOKENS = "string_split_regex(strip_accents(lower(split_part({x}, '@', 1))), '[^a-z0-9]+')"


def _local(x: str) -> str:
    return _LOCAL.format(x=x)


TWIN_STEP = ("likely twins", f"""
CREATE OR REPLACE TEMP TABLE ltm AS
SELECT * FROM (SELECT rowid AS rid, nkey(display_name) AS nk FROM pu
               WHERE merged_into_id IS NULL AND external_id IS NULL AND idp_link IS NULL
                 AND created_via <> 'scim' AND display_name IS NOT NULL)
WHERE nk IS NOT NULL AND rid NOT IN (SELECT rid FROM sm) AND rid NOT IN (SELECT hrid FROM wh);
CREATE OR REPLACE TEMP TABLE lsc AS
SELECT nk, count(*) AS n, max(rid, {MAX_NAME_PAIRS}) AS rids
FROM (SELECT rowid AS rid, nkey(display_name) AS nk FROM pu
      WHERE merged_into_id IS NULL AND created_via = 'scim' AND display_name IS NOT NULL
        AND {_obj()} IS NOT NULL)
WHERE nk IN (SELECT nk FROM ltm) GROUP BY nk;
CREATE OR REPLACE TEMP TABLE ltn AS
SELECT nk, m.n = 1 AND s.n = 1 AS one_to_one
FROM (SELECT nk, count(*) AS n FROM ltm GROUP BY nk) m JOIN lsc s USING (nk)
WHERE m.n * s.n <= {MAX_NAME_PAIRS};
CREATE OR REPLACE TEMP TABLE lts AS
SELECT * FROM (SELECT unnest(rids) AS rid, nk FROM lsc WHERE nk IN (SELECT nk FROM ltn))
WHERE rid NOT IN (SELECT rid FROM sm) AND rid NOT IN (SELECT rid FROM xm);
CREATE OR REPLACE TEMP TABLE ltp AS
WITH pairs AS (
  SELECT m.rid AS mrid, pm.id AS muid, s.rid AS srid, ps.id AS suid, pm.display_name AS mdn,
         ps.display_name AS sdn, coalesce(pm.e1, pm.user_name) AS addr, pm.e1_k, ps.user_name AS sun,
         {_obj('ps')} AS obj, pm.created_at AS mc, ps.created_at AS sc, pm.last_login_at AS ml,
         ps.last_login_at AS sl, n.one_to_one, m.nk
  FROM (SELECT * FROM ltm WHERE nk IN (SELECT nk FROM ltn)) m JOIN ltn n USING (nk) JOIN lts s USING (nk)
  JOIN pu pm ON pm.rowid = m.rid JOIN pu ps ON ps.rowid = s.rid),
     keyed AS (
  SELECT *, {_local('sun')} AS sl_k, {_local('addr')} AS ml_k, {_TOKENS.format(x='addr')} AS mt,
         string_split(nk, ' ') AS nt FROM pairs)
SELECT *, m_local OR init_local OR name_local AS local_agrees,
       coalesce(mc < sc, FALSE) AS predates,
       coalesce(ml > sc AND sl > sc, FALSE) AS both_used,
       (SELECT count(*) FROM od) > 0 AND lower(split_part(addr, '@', 2)) NOT IN (SELECT d FROM od) AS outside
FROM (SELECT *, sl_k <> '' AND sl_k = ml_k AS m_local,
             len(mt) >= 2 AND sl_k = left(mt[1], 1) || mt[-1] AS init_local,
             len(nt) >= 2 AND sl_k IN (regexp_replace(left(nt[1], 1) || nt[-1], '[^a-z0-9]', '', 'g'),
                                       regexp_replace(nt[1] || nt[-1], '[^a-z0-9]', '', 'g')) AS name_local
      FROM keyed);
CREATE OR REPLACE TEMP TABLE ltx AS
SELECT l.mrid, l.srid
FROM ltp l JOIN (SELECT object_id, upn_k AS k FROM e WHERE upn_k IN (SELECT e1_k FROM ltp)
                 UNION ALL
                 SELECT object_id, mail_k FROM e WHERE mail_k IN (SELECT e1_k FROM ltp)) x
  ON x.k = l.e1_k WHERE x.object_id IS DISTINCT FROM l.obj;
DELETE FROM ltp WHERE EXISTS (SELECT 1 FROM ltx WHERE ltx.mrid = ltp.mrid AND ltx.srid = ltp.srid);
DELETE FROM ltp WHERE NOT local_agrees AND NOT one_to_one;
CREATE OR REPLACE TEMP TABLE lt AS
SELECT CASE WHEN muid < suid THEN muid || ',' || suid ELSE suid || ',' || muid END AS sig, *,
       CASE WHEN both_used THEN 'possible'
            WHEN local_agrees AND one_to_one AND predates AND NOT outside THEN 'certain'
            WHEN local_agrees::INT + one_to_one::INT + predates::INT >= 2 AND (local_agrees OR NOT outside)
                THEN 'likely'
            ELSE 'possible' END AS confidence
FROM ltp
""")

# Lookalikes (docs/duplicates.md §4): the keys whose UTS #39 skeleton the engine computed in Python
# (``lka``: non-ASCII keys that can look like another; ``lkq``: the ASCII spellings of their
# skeletons) meet the account keys; a skeleton held by two different keys of two accounts is a finding.
LOOKALIKE_STEP = ("lookalikes", """
CREATE OR REPLACE TEMP TABLE lkm AS
SELECT DISTINCT ak.rid, ak.uid, ak.k, ak.raw, ak.as_un, l.skel
FROM ak JOIN (SELECT k, skel FROM lka UNION ALL SELECT k, skel FROM lkq) l ON l.k = ak.k;
CREATE OR REPLACE TEMP TABLE lkg AS
SELECT skel, string_agg(DISTINCT uid, ',' ORDER BY uid) AS sig, bool_or(as_un) AS any_un,
       coalesce(min(raw) FILTER (WHERE strlen(raw) <> length(raw)), min(raw)) AS raw
FROM lkm GROUP BY skel HAVING count(DISTINCT k) > 1 AND count(DISTINCT uid) > 1
""")

_DUPLICATES = "('manual_twin', 'scim_twins', 'email_collision', 'case_only', 'lookalike')"
_MEMBER_TEXT = "concat_ws(' ', m.user_name, replace(p.emails, chr(31), ' '), p.display_name, m.uid)"


# Every rule's candidates (``cf``) and the keys that tied their accounts (``cev``), read straight from
# the rules' own small tables: views, so nothing is copied (the evidence is read again only for the
# findings someone opens).
CANDIDATE_VIEWS = """
CREATE OR REPLACE TEMP VIEW cf AS
SELECT sig, CASE WHEN n_obj >= 2 THEN 'email_collision' WHEN n_raw > 1 THEN 'case_only'
                 WHEN n_obj = 1 THEN 'manual_twin' ELSE 'email_collision' END AS cls,
       CASE WHEN any_un THEN 'userName' ELSE 'email' END AS key_kind, raw AS value, NULL::VARCHAR AS obj,
       CASE WHEN n_obj >= 2 THEN 'two_idp_objects' WHEN n_obj = 0 AND n_raw = 1 THEN 'unlinked_accounts'
            ELSE 'shared_address' END AS detail, 2 AS orank, NULL::BIGINT AS rid1
FROM pg
UNION ALL
SELECT sig, 'scim_twins', 'externalId', external_id, external_id, 'shared_external_id', 2, NULL FROM xg
UNION ALL
SELECT sig, CASE WHEN hobj IS NOT NULL THEN 'email_collision'
                 WHEN n_own > 0 AND hraw <> raw THEN 'case_only'
                 WHEN n_own > 0 THEN 'manual_twin' ELSE 'email_collision' END,
       CASE WHEN as_un THEN 'userName' ELSE 'email' END, hraw, obj,
       CASE WHEN src = 'log' THEN 'log_conflict' ELSE 'entra_wants' END,
       CASE WHEN src = 'export' AND enabled THEN 0 WHEN src = 'export' THEN 1 ELSE 2 END,
       CASE WHEN n_own = 0 THEN hrid END
FROM whs
UNION ALL
SELECT uid, 'stale_email', via, e1, object_id, detail, 2, rid FROM st
UNION ALL
SELECT id, cls, CASE cls WHEN 'no_email' THEN 'userName' ELSE 'email' END,
       CASE cls WHEN 'no_email' THEN user_name ELSE e1 END, obj, '', 2, rid FROM hy
UNION ALL
SELECT sig, 'manual_twin', 'displayName', mdn, obj, 'name_match', 3, NULL FROM lt
UNION ALL
SELECT sig, 'lookalike', CASE WHEN any_un THEN 'userName' ELSE 'email' END, raw, NULL, 'confusable', 2, NULL
FROM lkg;
CREATE OR REPLACE TEMP VIEW cmm AS
SELECT pg.sig, sm.rid, sm.uid FROM pg JOIN sm USING (k)
UNION ALL SELECT xg.sig, xm.rid, xm.id FROM xg JOIN xm USING (external_id)
UNION ALL SELECT whs.sig, whm.rid, whm.uid FROM whs JOIN whm USING (hid) WHERE whs.n_own > 0
UNION ALL SELECT sig, mrid, muid FROM lt UNION ALL SELECT sig, srid, suid FROM lt
UNION ALL SELECT lkg.sig, lkm.rid, lkm.uid FROM lkg JOIN lkm USING (skel);
CREATE OR REPLACE TEMP VIEW cev AS
SELECT pg.sig, sm.rid, sm.uid, CASE WHEN sm.as_un THEN 'userName' ELSE 'email' END AS key_kind,
       sm.raw AS value
FROM pg JOIN sm USING (k)
UNION ALL SELECT xg.sig, xm.rid, xm.id, 'externalId', xm.external_id FROM xg JOIN xm USING (external_id)
UNION ALL SELECT sig, hrid, holder, CASE WHEN as_un THEN 'userName' ELSE 'email' END, hraw FROM whs
UNION ALL SELECT sig, rid, uid, key_kind, value FROM who
UNION ALL SELECT uid, rid, uid, via, object_id FROM st
UNION ALL SELECT uid, rid, uid, 'email', e1 FROM st
UNION ALL SELECT id, rid, id, 'userName', user_name FROM hy
UNION ALL SELECT lkg.sig, lkm.rid, lkm.uid, CASE WHEN lkm.as_un THEN 'userName' ELSE 'email' END, lkm.raw
FROM lkg JOIN lkm USING (skel);
CREATE OR REPLACE TEMP VIEW tev AS
SELECT sig, muid AS uid, 'name' AS signal,
       CASE WHEN mdn = sdn THEN 'both accounts are named ' || mdn
            ELSE mdn || ' ≈ ' || sdn || ' (equal after accent and case folding)' END AS value FROM lt
UNION ALL SELECT sig, suid, 'localPart', split_part(addr, '@', 1) || ' ↔ ' || split_part(sun, '@', 1)
       || CASE WHEN m_local THEN ' (same local part)' WHEN init_local THEN ' (initial + last name)'
               ELSE ' (initial/given + family name)' END FROM lt WHERE local_agrees
UNION ALL SELECT sig, suid, 'localPart', split_part(addr, '@', 1) || ' vs ' || split_part(sun, '@', 1)
       || ' (the local parts do not match)' FROM lt WHERE NOT local_agrees
UNION ALL SELECT sig, muid, 'created', 'the manual account (' || coalesce(mc, '?') || ') '
       || CASE WHEN predates THEN 'predates' ELSE 'does not predate' END || ' the SCIM account ('
       || coalesce(sc, '?') || ')' FROM lt
UNION ALL SELECT sig, suid, 'name', CASE WHEN one_to_one THEN 'the only manual and the only SCIM account '
       || 'with this name' ELSE 'other accounts have this name too' END FROM lt
UNION ALL SELECT sig, muid, 'domain', 'the manual address is at ' || split_part(addr, '@', 2) || ', '
       || CASE WHEN outside THEN 'none of the organisation''s domains (a contractor or guest?)'
               ELSE 'one of the organisation''s domains' END FROM lt WHERE (SELECT count(*) FROM od) > 0
UNION ALL SELECT sig, suid, 'lastLogin', CASE WHEN both_used THEN 'both accounts were used after the SCIM '
       || 'account was created (two people?)' WHEN sl IS NULL THEN 'the SCIM account was never used'
       ELSE 'only one of the two accounts was used since the SCIM account was created' END FROM lt
"""

# One finding per set of accounts (the most specific reading wins); the weak single-account signals
# of accounts a duplicate finding already covers are dropped; the findings are numbered.
ASSEMBLE_STEPS: list[tuple[str, str]] = [
    ("one finding per set of accounts", CANDIDATE_VIEWS + f""";
CREATE OR REPLACE TEMP TABLE fg AS
SELECT substr(md5(b.cls || '|' || sig), 1, 16) AS fid, sig, b.cls, b.key_kind, b.value, b.detail, b.obj, rid1
FROM (
  SELECT sig, any_value(rid1) AS rid1,
         arg_min({{'cls': cf.cls, 'key_kind': cf.key_kind, 'value': cf.value, 'detail': cf.detail,
                  'obj': cf.obj}},
                 (c.prio, CASE cf.detail WHEN 'entra_wants' THEN 0 WHEN 'log_conflict' THEN 2
                                         WHEN 'name_match' THEN 3 ELSE 1 END,
                  cf.orank, coalesce(kr.r, 9), cf.value IS NULL, coalesce(cf.value, ''),
                  coalesce(cf.obj, ''))) AS b
  FROM cf JOIN classes c USING (cls) LEFT JOIN key_rank kr ON kr.key_kind = cf.key_kind
  GROUP BY sig);
CREATE OR REPLACE TEMP TABLE dup_members AS
SELECT DISTINCT unnest(string_split(sig, ',')) AS uid FROM fg
WHERE cls IN {_DUPLICATES} AND contains(sig, ',');
DELETE FROM fg WHERE cls IN ('username_not_email', 'stale_email') AND sig IN (SELECT uid FROM dup_members)
"""),
    # A finding's accounts: its own account (single-account candidates carry it as ``rid1``) or the
    # members the multi-account rules kept (``cmm``). Only what orders and names them is copied; the
    # rest of an account is read from ``pu`` by rid when someone opens the finding.
    ("findings table", f"""
CREATE OR REPLACE TEMP TABLE fmembers AS
SELECT m.fid, m.many, m.rid, m.uid, p.user_name, {_obj('p')} AS obj, p.created_via = 'scim' AS by_scim
FROM (SELECT fid, FALSE AS many, rid1 AS rid, sig AS uid FROM fg WHERE rid1 IS NOT NULL
      UNION ALL
      SELECT DISTINCT fg.fid, TRUE, c.rid, c.uid FROM fg JOIN cmm c USING (sig) WHERE fg.rid1 IS NULL) m
JOIN pu p ON p.rowid = m.rid;
CREATE OR REPLACE TABLE findings AS
SELECT fg.fid, fg.cls, c.rank, c.severity, c.sev_rank,
       fg.key_kind, fg.value, fg.detail, fg.sig, fg.obj AS object_id, e.upn AS entra_upn,
       e.mail AS entra_mail, n.accounts, 0 AS log_events, n.listed AS user_names,
       CASE WHEN fg.detail = 'name_match' THEN coalesce(lt.confidence, 'possible') ELSE 'certain' END
           AS confidence,
       CASE WHEN fg.detail = 'name_match' THEN coalesce(lt.conf_rank, 3) ELSE 1 END AS conf_rank
FROM fg JOIN classes c USING (cls)
JOIN {_listed('user_name', ', ', 'fmembers')} n ON n.fid = fg.fid
LEFT JOIN ew e ON e.object_id = fg.obj
LEFT JOIN (SELECT sig, confidence, CASE confidence WHEN 'certain' THEN 1 WHEN 'likely' THEN 2 ELSE 3 END
                  AS conf_rank FROM lt) lt ON lt.sig = fg.sig AND fg.detail = 'name_match';
DROP TABLE IF EXISTS fsearch
"""),
]

# The text a search box filters on (accounts, keys, Entra UPN/mail, class), lowercased: built on the
# first text filter, not by every analysis (most never search; a million-finding org pays ~0.2 s once).
SEARCH_DDL = f"""
CREATE TABLE IF NOT EXISTS fsearch AS
SELECT f.fid, lower(concat_ws(' ', n.listed, f.value, f.object_id, f.entra_upn, f.entra_mail, f.cls,
                              f.detail)) AS search
FROM findings f
JOIN {_listed(_MEMBER_TEXT, ' ', 'fmembers m JOIN pu p ON p.rowid = m.rid', 'm')} n USING (fid)
"""
SEARCH_WHERE = "fid IN (SELECT fid FROM fsearch WHERE contains(search, ?))"

LOG_EVIDENCE_STEP = ("log evidence", """
CREATE OR REPLACE TEMP TABLE fkv AS
SELECT m.fid, ak.k AS v FROM fmembers m JOIN ak ON ak.rid = m.rid
UNION SELECT m.fid, p.scim_id FROM fmembers m JOIN pu p ON p.rowid = m.rid WHERE p.scim_id IS NOT NULL
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


# Only collisions use it (a holder whose Entra user is gone has a stale link to clear).
ABSENT_STEP = ("Entra users gone", """
CREATE OR REPLACE TABLE fabsent AS
WITH held AS (SELECT m.fid, m.obj FROM fmembers m JOIN findings f USING (fid)
              WHERE f.cls = 'email_collision' AND m.obj IS NOT NULL)
SELECT fid, obj FROM held
WHERE obj NOT IN (SELECT object_id FROM e WHERE object_id IN (SELECT obj FROM held))
""")
NO_ABSENT_STEP = ("Entra users gone", "CREATE OR REPLACE TABLE fabsent (fid VARCHAR, obj VARCHAR)")
