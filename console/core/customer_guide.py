"""The org's SCIM setup guide for the customer (issue 4 §5; seed steps 5–15), as HTML.

Built from the seed guide's Entra steps plus what the console knows: the org's endpoint URL, the
recommended attribute mappings and matching (entra-facts §1.11, §3.4 rule 6) and troubleshooting
(§1.10, §2.5, §3). Every value is HTML-escaped; the token is never part of it (the caller may pass
it so the builder can prove that). The UI prints the same HTML to PDF.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from console.core.errors import UserFacingError

ENTRA_STEPS = (
    "Open the Microsoft Entra admin centre and go to Applications.",
    "Select Enterprise applications, then New application.",
    "Select Create your own application.",
    "Enter the app's name, select “Integrate any other application you don't find in the gallery”, "
    "then Create.",
    "Select Provisioning, then Provisioning again (or “Get started”).",
    "Set Provisioning Mode to Automatic.",
    "Under Admin Credentials, paste the Tenant URL and the Secret Token we sent you.",
    "Select Test Connection. You should see “The supplied credentials are authorized to enable "
    "provisioning”.",
    "Select Save, then refresh the page.",
    "Open Settings and set Provisioning Status to On.",
    "Save your settings again.",
)

MAPPINGS = (
    ("userPrincipalName", "userName", "Matching attribute, precedence 2 (see below)"),
    ("mail", 'emails[type eq "work"].value', "Use mail for guests (their UPN contains #EXT#)"),
    ("givenName", "name.givenName", ""),
    ("surname", "name.familyName", ""),
    ("displayName", "displayName", ""),
    ("objectId", "externalId",
     "Recommended matching attribute, precedence 1, once existing accounts carry it"),
    ('Switch([IsSoftDeleted], , "False", "True", "True", "False")', "active", "Entra's default"),
)

TROUBLESHOOTING = (
    ("Test Connection says “You appear to have entered invalid credentials”",
     "The Secret Token is wrong, expired or revoked. Ask us for a new token; paste it without spaces."),
    ("Test Connection reports “ServiceIncompatible”",
     "The Tenant URL is wrong (it must end with your organisation's id, without /Users)."),
    ("Duplicate accounts after the first cycle",
     "Entra matches existing accounts by userName ← userPrincipalName. People whose account on our "
     "platform uses a different email (e.g. mail ≠ UPN) get a second account. Tell us before you start: "
     "we align the emails or clear old identity-provider links first."),
    ("Provisioning is in quarantine",
     "Most or all requests failed, often because of an expired token. Fix the cause, Test Connection, Save, "
     "then Restart provisioning."),
    ("Errors mentioning InvalidAnchor",
     "An account Entra had linked was merged or removed on our side. Restart provisioning with “reset "
     "scope: full” so Entra matches everyone again."),
)


def build_guide_html(*, org_name: str, scim_url: str, generated_at: datetime, support_contact: str = "",
                     app_name: str = "", token: str | None = None) -> str:
    """The whole guide as a standalone HTML document. ``token`` is only used to refuse leaking it."""
    e = escape
    steps = "".join(f"<li>{e(s)}</li>" for s in ENTRA_STEPS)
    rows = "".join(f"<tr><td><code>{e(a)}</code></td><td><code>{e(b)}</code></td><td>{e(c)}</td></tr>"
                   for a, b, c in MAPPINGS)
    trouble = "".join(f"<h3>{e(q)}</h3><p>{e(a)}</p>" for q, a in TROUBLESHOOTING)
    contact = f" ({e(support_contact)})" if support_contact else ""
    app = f" Name the application “{e(app_name)}”." if app_name else ""
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>SCIM setup guide — {e(org_name)}</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.45}}
code{{background:#f3f3f3;padding:0 .2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}}</style></head>
<body>
<h1>Automatic user provisioning from Microsoft Entra ID</h1>
<p>For <strong>{e(org_name)}</strong> · generated {e(generated_at.strftime("%Y-%m-%d"))}</p>
<h2>Your connection details</h2>
<table><tr><th>Tenant URL</th><td><code>{e(scim_url)}</code></td></tr>
<tr><th>Secret Token</th><td>Sent to you separately through a one-time link or another secure channel. It is
never written in this guide, in tickets or in email.</td></tr></table>
<h2>Before you start</h2>
<ul><li>A New User Template applying to all users gives everyone who is provisioned access to at least one
work area.</li>
<li>If people's email on our platform differs from their Entra userPrincipalName, contact support{contact}
first so we can align them and avoid duplicate accounts.</li></ul>
<h2>Set up provisioning in Entra</h2>
<ol>{steps}</ol>
<p>{app}</p>
<h2>Recommended attribute mappings</h2>
<table><tr><th>Entra attribute</th><th>SCIM attribute</th><th>Notes</th></tr>{rows}</table>
<h2>Matching</h2>
<p>By default Entra finds existing accounts by <code>userName</code> = userPrincipalName (ignoring case).
Once every existing account carries its Entra objectId as <code>externalId</code>, set
<code>objectId → externalId</code> as matching precedence 1 and keep userName as precedence 2. Changing
matching attributes makes Entra re-evaluate everyone: tell us before you do.</p>
<h2>Troubleshooting</h2>
{trouble}
<p>Need help? Contact support{contact}.</p>
</body></html>
"""
    if token and token in html:
        raise UserFacingError("Refusing to build a customer guide that contains the token.")
    return html
