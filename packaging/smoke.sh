#!/usr/bin/env bash
# Scripted run of every GUI page and the key CLI commands of a built or installed console:
#   bash packaging/smoke.sh DIR     (DIR holds `scim-console` and `scim-console-gui`: dist/scim-console,
#                                    /usr/bin after installing the .deb, …)
# Why: the package drops what the bundle carries but never loads (docs/packaging.md §2), measured by
# running THIS script under strace (packaging/measure-usage.sh). CI runs it against the bundle and
# the installed package, so a file dropped by mistake fails CI, not a support engineer.
# Runs offscreen with the in-memory keyring in a throw-away SCIM_CONSOLE_HOME; exits non-zero on
# the first failing step.
set -euo pipefail
bin="$(cd "${1:?usage: smoke.sh DIR}" && pwd)"
data="$(cd "$(dirname "$0")/smoke-data" && pwd)"
cli="$bin/scim-console"
work=$(mktemp -d)
sandbox_pid=""
cleanup() { [ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export QT_QPA_PLATFORM=offscreen SCIM_CONSOLE_HOME="$work/home"
export PYTHON_KEYRING_BACKEND="${SMOKE_KEYRING_BACKEND:-keyring.backends.null.Keyring}"
step() { printf '== smoke: %s\n' "$*"; }

step "--version / --help"
"$cli" --version
"$cli" --help > /dev/null

step "selfcheck (every check)"
"$cli" selfcheck

step "GUI tour: every page"
SCIM_CONSOLE_HOME="$work/gui-home" "$cli" selfcheck --gui-tour 2> "$work/tour.log" \
  || { cat "$work/tour.log" >&2; exit 1; }

step "sandbox serve (background) + the CLI against it"
"$cli" sandbox serve --port 0 --db "$work/platform.db" --seed demo --json > "$work/sandbox.json" 2> "$work/sandbox.log" &
sandbox_pid=$!
for _ in $(seq 1 600); do [ -s "$work/sandbox.json" ] && break; sleep 0.1; done
[ -s "$work/sandbox.json" ] || { cat "$work/sandbox.log" >&2; echo "sandbox did not start" >&2; exit 1; }
field() { sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p" "$work/sandbox.json"; }
export SCIM_CONSOLE_URL; SCIM_CONSOLE_URL="$(field admin_url)"
export SCIM_CONSOLE_TOKEN; SCIM_CONSOLE_TOKEN="$(field operator_token)"
"$cli" orgs list --json > "$work/orgs.json"
org=$(sed -n 's/.*"id": "\([^"]*\)".*/\1/p' "$work/orgs.json" | head -1)
org=${org:-$(grep -o '"id": *"[^"]*"' "$work/orgs.json" | head -1 | sed 's/.*"\([^"]*\)"$/\1/')}
[ -n "$org" ] || { echo "no org in: $(head -c 300 "$work/orgs.json")" >&2; exit 1; }
"$cli" orgs list > /dev/null
"$cli" scim status --org "$org" > /dev/null
"$cli" reconcile analyze --org "$org" --export "$work/findings.xlsx" > /dev/null
"$cli" reconcile plan --org "$org" > /dev/null
"$cli" sandbox simulate-entra --help > /dev/null
unset SCIM_CONSOLE_URL SCIM_CONSOLE_TOKEN

step "offline logs: Entra JSON and the CSV trio, query, export CSV + XLSX"
"$cli" logs open "$data/provisioning-logs.json" > /dev/null
"$cli" logs open "$data"/csv/*.csv > /dev/null
"$cli" logs list > /dev/null
"$cli" logs query latest --status failure --limit 5 > /dev/null
"$cli" logs export latest "$work/logs.csv" > /dev/null
"$cli" logs export latest "$work/logs.xlsx" > /dev/null
[ -s "$work/logs.csv" ] && [ -s "$work/logs.xlsx" ]

step "profiles and the audit trail"
"$cli" profiles list > /dev/null
"$cli" audit list > /dev/null
echo "== smoke: all steps passed"
