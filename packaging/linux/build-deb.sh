#!/usr/bin/env bash
# Builds the Debian package of SCIM Support Console from the PyInstaller one-dir bundle.
#   bash packaging/linux/build-deb.sh [--bundle dist/scim-console] [--version X.Y.Z] [--out dist] [--fast]
# --fast: no compression (seconds instead of minutes), for throw-away packages such as the
# "previous version" .ci/package upgrades from.
# Prints the path of the .deb it wrote. Needs dpkg-deb (any Debian/Ubuntu); no root needed.
#
# Layout (docs/packaging.md §1): the bundle under /opt/scim-console (a self-contained third-party
# application: its own Python, Qt and DuckDB), `scim-console` and `scim-console-gui` on PATH as
# /usr/bin symlinks, the desktop entry and hicolor icons where desktops look for them. No
# maintainer scripts: the desktop database and icon cache are refreshed by dpkg file triggers
# (desktop-file-utils, hicolor-icon-theme), so upgrade is dpkg replacing files and remove/purge
# leaves nothing but each user's own data (~/.config, ~/.local/share, ~/.cache scim-console).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bundle="$root/dist/scim-console"
out="$root/dist"
version=""
compress=(-Zxz)
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) bundle="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --fast) compress=(-Znone); shift ;;
    *) echo "build-deb: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$bundle/scim-console" ] || { echo "build-deb: no bundle at $bundle (run pyinstaller build.spec)" >&2; exit 1; }
if [ -z "$version" ]; then
  version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/pyproject.toml" | head -1)
fi
pkg=scim-console
arch=$(dpkg --print-architecture)
mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage=$(mktemp -d)
chmod 755 "$stage"
trap 'rm -rf "$stage"' EXIT
umask 022

# ---- files
install -d "$stage/opt" "$stage/usr/bin" "$stage/usr/share/applications" "$stage/usr/share/doc/$pkg" \
  "$stage/usr/share/man/man1" "$stage/usr/share/lintian/overrides"
cp -a "$bundle" "$stage/opt/$pkg"
# Normalise modes whatever the build host's umask: directories and executables 755, data 644.
find "$stage/opt/$pkg" -type d -exec chmod 755 {} +
find "$stage/opt/$pkg" -type f -exec chmod 644 {} +
chmod 755 "$stage/opt/$pkg/scim-console"
ln -s "/opt/$pkg/scim-console" "$stage/usr/bin/scim-console"
ln -s "/opt/$pkg/scim-console-gui" "$stage/usr/bin/scim-console-gui"
# Named after the app id Qt announces (QGuiApplication.setDesktopFileName), so Wayland compositors
# match the running window to this entry and its icon.
install -m 644 "$root/resources/linux/scim-console.desktop" \
  "$stage/usr/share/applications/scim-support-console.desktop"
for size in 48 256; do
  install -D -m 644 "$root/resources/icons/scim-console-$size.png" \
    "$stage/usr/share/icons/hicolor/${size}x${size}/apps/scim-console.png"
done
install -D -m 644 "$root/console/assets/icons/app.svg" "$stage/usr/share/icons/hicolor/scalable/apps/scim-console.svg"
install -m 644 "$here/copyright" "$stage/usr/share/doc/$pkg/copyright"
install -m 644 "$here/lintian-overrides" "$stage/usr/share/lintian/overrides/$pkg"
date_rfc=$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}")
printf '%s (%s) unstable; urgency=medium\n\n  * Package of the PyInstaller bundle %s.\n\n -- %s  %s\n' \
  "$pkg" "$version" "$version" "SCIM Support Console team <support-console@example.com>" "$date_rfc" \
  | gzip -9n > "$stage/usr/share/doc/$pkg/changelog.gz"
for page in scim-console scim-console-gui; do
  sed "s/@VERSION@/$version/; s/@NAME@/$page/g" "$here/scim-console.1.in" | gzip -9n > "$stage/usr/share/man/man1/$page.1.gz"
done

# ---- control
installed_kb=$(du -sk --apparent-size "$stage" | cut -f1)
install -d "$stage/DEBIAN"
# Depends: the system libraries the bundle links against but does not carry (build.spec excludes
# them so they get the distro's security updates; measured with objdump -p, docs/packaging.md §1),
# a Secret Service for the OS keyring, and the CA store truststore reads.
cat > "$stage/DEBIAN/control" <<EOF
Package: $pkg
Version: $version
Architecture: $arch
Maintainer: SCIM Support Console team <support-console@example.com>
Installed-Size: $installed_kb
Section: net
Priority: optional
Depends: libc6 (>= 2.34), libstdc++6, libgcc-s1, zlib1g, libbz2-1.0, liblzma5, libzstd1, libuuid1, libsqlite3-0, libssl3, libgssapi-krb5-2, libglib2.0-0, libdbus-1-3, libfontconfig1, libfreetype6, libbrotli1, libegl1, libgl1, libxkbcommon0, libxkbcommon-x11-0, libx11-6, libx11-xcb1, libxcb1, libxcb-cursor0, libxcb-glx0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, libxcb-randr0, libxcb-render0, libxcb-render-util0, libxcb-shape0, libxcb-shm0, libxcb-sync1, libxcb-util1, libxcb-xfixes0, libxcb-xkb1, libwayland-client0, libwayland-cursor0, libwayland-egl1, ca-certificates, gnome-keyring | keepassxc | libkf5wallet-bin
Recommends: fonts-dejavu-core | fonts-liberation2
Description: console for switching customer orgs to SCIM provisioning from Entra ID
 SCIM Support Console is the desktop tool of the platform's support team: it
 checks an organisation is ready, enables SCIM, keeps the token in the OS
 keyring, watches provisioning logs (live and from Entra exports) and
 reconciles duplicate accounts. It ships an embedded sandbox platform.
 .
 The package carries its own Python, Qt and DuckDB under /opt/scim-console;
 tokens are stored through the desktop's Secret Service.
EOF

deb="$out/${pkg}_${version}_${arch}.deb"
dpkg-deb --root-owner-group "${compress[@]}" --build "$stage" "$deb" >/dev/null
echo "$deb"
