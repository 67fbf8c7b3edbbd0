#!/usr/bin/env bash
# macOS: signs, notarises and wraps the .app that build.spec makes (BUNDLE) into a DMG.
#   pip install -e ".[build]" && pyinstaller --noconfirm --clean build.spec
#   MACOS_SIGN_IDENTITY="Developer ID Application: … (TEAMID)" NOTARY_PROFILE=scim-notary \
#     bash packaging/macos/build-dmg.sh            -> dist/SCIM-Support-Console-X.Y.Z.dmg
# Without MACOS_SIGN_IDENTITY the app is ad-hoc signed and not notarised (CI on forks, local tests).
# NOTARY_PROFILE is a keychain profile made once with
#   xcrun notarytool store-credentials scim-notary --apple-id … --team-id … --password <app-specific>
# Install: open the DMG, drag the app to Applications; the CLI is
#   ln -s "/Applications/SCIM Support Console.app/Contents/MacOS/scim-console" /usr/local/bin/scim-console
# docs/packaging.md §4.
set -euo pipefail
cd "$(dirname "$0")/../.."
app="dist/SCIM Support Console.app"
[ -d "$app" ] || { echo "build-dmg: no $app (run pyinstaller build.spec on macOS)" >&2; exit 1; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
identity="${MACOS_SIGN_IDENTITY:--}"
entitlements="packaging/macos/entitlements.plist"

# Sign inside-out: every Mach-O in Frameworks/Resources first, then the app (never --deep: it
# signs without the entitlements and in the wrong order).
sign() { codesign --force --timestamp --options runtime --entitlements "$entitlements" --sign "$identity" "$@"; }
[ "$identity" = "-" ] && sign() { codesign --force --sign - "$@"; }
find "$app/Contents" -type f \( -name '*.so' -o -name '*.dylib' -o -perm -u+x \) -print0 \
  | while IFS= read -r -d '' f; do file -b "$f" | grep -q Mach-O && sign "$f"; done
sign "$app"
codesign --verify --strict --verbose=2 "$app"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
dmg="dist/SCIM-Support-Console-$version.dmg"
rm -f "$dmg"
hdiutil create -volname "SCIM Support Console" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg"

if [ "$identity" != "-" ]; then
  codesign --force --timestamp --sign "$identity" "$dmg"
  xcrun notarytool submit "$dmg" --keychain-profile "${NOTARY_PROFILE:?set NOTARY_PROFILE}" --wait
  xcrun stapler staple "$dmg"
  spctl --assess --type open --context context:primary-signature --verbose "$dmg"
fi
echo "$dmg"
