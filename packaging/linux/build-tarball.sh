#!/usr/bin/env bash
# Builds a per-user tarball for Linux machines without dpkg or without root:
#   bash packaging/linux/build-tarball.sh [--bundle dist/scim-console] [--out dist]
#   -> dist/scim-console-X.Y.Z-linux-ARCH.tar.xz, containing scim-console/ and install.sh.
# The engineer runs:  tar xf scim-console-*.tar.xz && scim-console-*/install.sh
# install.sh copies the bundle to ~/.local/opt/scim-console, links the two commands into
# ~/.local/bin and writes the desktop entry and icons under ~/.local/share; `install.sh --uninstall`
# removes exactly those (the user's data stays). The system libraries listed in the .deb's Depends
# must be present (docs/packaging.md §1).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bundle="$root/dist/scim-console"
out="$root/dist"
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "build-tarball: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$bundle/scim-console" ] || { echo "build-tarball: no bundle at $bundle" >&2; exit 1; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/pyproject.toml" | head -1)
name="scim-console-$version-linux-$(uname -m)"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name/share" "$out"
cp -a "$bundle" "$stage/$name/scim-console"
cp "$root/resources/linux/scim-console.desktop" "$stage/$name/share/"
cp "$root/resources/icons/scim-console-48.png" "$root/resources/icons/scim-console-256.png" \
  "$root/console/assets/icons/app.svg" "$stage/$name/share/"
cat > "$stage/$name/install.sh" <<'EOF'
#!/usr/bin/env bash
# Installs (or with --uninstall removes) SCIM Support Console for the current user only.
set -euo pipefail
src="$(cd "$(dirname "$0")" && pwd)"
opt="$HOME/.local/opt/scim-console"; bin="$HOME/.local/bin"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
entry="$data/applications/scim-support-console.desktop"
icons=("$data/icons/hicolor/48x48/apps/scim-console.png" "$data/icons/hicolor/256x256/apps/scim-console.png"
       "$data/icons/hicolor/scalable/apps/scim-console.svg")
if [ "${1:-}" = "--uninstall" ]; then
  rm -rf "$opt"; rm -f "$bin/scim-console" "$bin/scim-console-gui" "$entry" "${icons[@]}"
  command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
  echo "SCIM Support Console removed (your data in ~/.config, ~/.local/share, ~/.local/state, ~/.cache stays)"
  exit 0
fi
rm -rf "$opt.new"; mkdir -p "$(dirname "$opt")" "$bin" "$data/applications"
cp -a "$src/scim-console" "$opt.new" && rm -rf "$opt" && mv "$opt.new" "$opt"   # upgrade = replace
ln -sf "$opt/scim-console" "$bin/scim-console"; ln -sf "$opt/scim-console-gui" "$bin/scim-console-gui"
sed "s|^Exec=scim-console-gui|Exec=$bin/scim-console-gui|" "$src/share/scim-console.desktop" > "$entry"
install -D -m 644 "$src/share/scim-console-48.png" "${icons[0]}"
install -D -m 644 "$src/share/scim-console-256.png" "${icons[1]}"
install -D -m 644 "$src/share/app.svg" "${icons[2]}"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
echo "SCIM Support Console installed: run scim-console-gui (or find it in the menu); $bin must be on PATH"
EOF
chmod 755 "$stage/$name/install.sh"
tarball="$out/$name.tar.xz"
tar -C "$stage" --owner=0 --group=0 --numeric-owner -cJf "$tarball" "$name"
echo "$tarball"
