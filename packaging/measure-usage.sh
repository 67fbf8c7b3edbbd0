#!/usr/bin/env bash
# Which files of a one-dir bundle does the app actually open? Runs packaging/smoke.sh (every GUI
# page + the key CLI commands) against BUNDLE under `strace -f -e trace=openat,open,execve` and
# prints every bundle file that was never opened, biggest first, with the total.
#   bash packaging/measure-usage.sh [dist/scim-console] > unused.txt
# Pure-Python modules live inside the launcher's PYZ archive, so this sees shared libraries, Qt
# plugins, data files; PyInstaller's own warnings (build/*/warn-*.txt) cover the Python side.
# Needs strace (apt-get install strace). Takes ~2 min (strace slows the run down).
set -euo pipefail
cd "$(dirname "$0")/.."
bundle="$(cd "${1:-dist/scim-console}" && pwd)"
trace=$(mktemp)
trap 'rm -f "$trace" "$trace".*' EXIT
strace -f -qq -e trace=openat,open,execve -e signal=none -o "$trace" bash packaging/smoke.sh "$bundle" >&2
# Paths as opened (successful calls only), resolved to files inside the bundle.
grep -v ' = -1 ' "$trace" | grep -o '"[^"]*"' | tr -d '"' | sort -u \
  | while read -r p; do if [ -e "$p" ]; then realpath -m "$p"; fi; done | grep "^$bundle/" | sort -u > "$trace.used"
find "$bundle" -type f | sort > "$trace.all"
comm -23 "$trace.all" "$trace.used" | xargs -d '\n' stat -c '%s %n' | sort -rn > "$trace.unused"
total=$(awk '{s += $1} END {print s + 0}' "$trace.unused")
echo "# files of $bundle never opened by packaging/smoke.sh: $(wc -l < "$trace.unused") files, $(( total / 1000000 )) MB"
echo "# opened: $(wc -l < "$trace.used") files"
sed "s|$bundle/||" "$trace.unused"
