#!/usr/bin/env bash
# Build, sign, notarise and package dispatch-desktop for macOS: .app, .dmg and (optionally) .pkg.
#
#   packaging/macos/build.sh [--reuse-venv] [--skip-bundle]
#
# NOT RUN ON THE LINUX CI MACHINE. Written against the PyInstaller 6.22 documentation and Apple's
# code-signing and notarisation documentation; packaging/macos/README.md says step by step what
# it does, what it needs and what was and was not verified.
#
# Configuration (environment):
#   PYTHON                      Python 3.11 to build with (default: the python.org framework
#                               build, /Library/Frameworks/Python.framework/Versions/3.11/bin/python3.11)
#   DD_MAC_SIGN_IDENTITY        "Developer ID Application: <Org> (<TEAMID>)"; unset: no signing,
#                               no notarisation (a local test build only)
#   DD_MAC_NOTARY_PROFILE       notarytool keychain profile (xcrun notarytool store-credentials);
#                               unset: signed but not notarised
#   DD_MAC_INSTALLER_IDENTITY   "Developer ID Installer: <Org> (<TEAMID>)": also build a signed .pkg
#   DD_MAC_SKIP_SMOKE=1         do not run the app (a build machine without a GUI session)
#   BUILD_DIR, DIST_DIR         work folder (default build/macos) and output folder (default dist)
#
# Options: --reuse-venv keeps BUILD_DIR/venv; --skip-bundle re-signs and re-packages the .app
# already in BUILD_DIR/bundle instead of building it again.
#
# Written for macOS's own /bin/bash 3.2: no mapfile, no associative arrays.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build_dir=${BUILD_DIR:-$repo/build/macos}
dist_dir=${DIST_DIR:-$repo/dist}
identity=${DD_MAC_SIGN_IDENTITY:-}
profile=${DD_MAC_NOTARY_PROFILE:-}
installer_identity=${DD_MAC_INSTALLER_IDENTITY:-}
skip_smoke=${DD_MAC_SKIP_SMOKE:-0}
entitlements=$here/entitlements.plist
reuse_venv=0
skip_bundle=0

while [ $# -gt 0 ]; do
    case $1 in
        --reuse-venv) reuse_venv=1; shift ;;
        --skip-bundle) skip_bundle=1; reuse_venv=1; shift ;;
        -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

log() { printf '\n==> %s\n' "$*"; }
warn() { printf 'build.sh: WARNING: %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }
run() { printf '+ %s\n' "$*"; "$@"; }

# --- 0. preflight -------------------------------------------------------------------------------
[ "$(uname -s)" = Darwin ] || die "macOS only (this is $(uname -s)); see packaging/macos/README.md"
for tool in codesign ditto file hdiutil lipo otool xattr xcrun /usr/libexec/PlistBuddy; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found: install the Xcode command line tools (xcode-select --install)"
done
if [ -n "$profile" ] && [ -z "$identity" ]; then
    die "DD_MAC_NOTARY_PROFILE is set but DD_MAC_SIGN_IDENTITY is not: only signed code can be notarised"
fi
if [ -n "$identity" ]; then
    security find-identity -v -p codesigning | grep -qF -- "$identity" \
        || die "no valid code-signing identity \"$identity\" in the keychain (security find-identity -v -p codesigning)"
fi
if [ -n "$installer_identity" ]; then
    security find-identity -v | grep -qF -- "$installer_identity" \
        || die "no identity \"$installer_identity\" in the keychain (security find-identity -v)"
fi

python=${PYTHON:-/Library/Frameworks/Python.framework/Versions/3.11/bin/python3.11}
[ -x "$python" ] || python=$(command -v python3.11 || true)
[ -n "$python" ] || die "no Python 3.11: install it from python.org (macOS 64-bit universal2 installer) or set PYTHON"
"$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || die "$python is not Python 3.11"
case $("$python" -c 'import sys; print(sys.base_prefix)') in
    /Library/Frameworks/Python.framework/*) ;;
    *) warn "$python is not the python.org build: its binaries may target only this macOS version (README.md, 'Which Python')" ;;
esac
echo "macOS $(sw_vers -productVersion) $(uname -m); python $python"

# --- 1. virtual environment ---------------------------------------------------------------------
venv=$build_dir/venv
vpy=$venv/bin/python
if [ "$reuse_venv" -eq 0 ] || [ ! -x "$vpy" ]; then
    log "virtual environment $venv"
    rm -rf "$venv"
    run "$python" -m venv "$venv"
    run "$vpy" -m pip install --upgrade pip
    (cd "$repo" && run "$vpy" -m pip install '.[packaging]')
fi

# --- 2. metadata: pyproject.toml and desktop/__init__.py are its one home ------------------------
meta_json=$("$vpy" "$repo/packaging/metadata.py" --json)
meta() { "$vpy" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$meta_json" "$1"; }
name=$(meta name)
version=$(meta version)
app_id=$(meta app_id)
title=$(meta title)
echo "product: $title $version ($app_id)"

# --- 3. icon and bundle -------------------------------------------------------------------------
bundle_dir=$build_dir/bundle
if [ "$skip_bundle" -eq 0 ]; then
    # The spec takes the icon from packaging/icons/dispatch-desktop.icns: make it from the PNGs.
    [ -e "$repo/resources/icons/$name-512.png" ] || die "resources/icons/$name-512.png not found: the icon renders are missing"
    log "icon"
    run "$here/make_icns.sh"
    log "PyInstaller bundle"
    rm -rf "$bundle_dir"
    (cd "$repo" && run "$vpy" packaging/build.py bundle --out "$bundle_dir")
fi
# The spec names the bundle (today "<title>.app"): take the one .app that is there.
app=
for candidate in "$bundle_dir"/*.app; do
    [ -d "$candidate" ] || continue
    [ -z "$app" ] || die "more than one .app in $bundle_dir"
    app=$candidate
done
[ -n "$app" ] || die "no .app in $bundle_dir: did packaging/build.py bundle change its output?"
app_name=$(basename "$app")

plist=$app/Contents/Info.plist
plist_get() { /usr/libexec/PlistBuddy -c "Print :$1" "$plist" 2>/dev/null || true; }
exe=$app/Contents/MacOS/$(plist_get CFBundleExecutable)
if [ ! -f "$exe" ] || [ ! -x "$exe" ]; then die "$exe (CFBundleExecutable of $plist) not found"; fi
[ "$(plist_get CFBundleIdentifier)" = "$app_id" ] \
    || die "Info.plist CFBundleIdentifier is '$(plist_get CFBundleIdentifier)', metadata says '$app_id'"
[ "$(plist_get CFBundleShortVersionString)" = "$version" ] \
    || die "Info.plist CFBundleShortVersionString is '$(plist_get CFBundleShortVersionString)', metadata says '$version'"
min_os=$(plist_get LSMinimumSystemVersion)
if [ -z "$min_os" ]; then
    warn "Info.plist has no LSMinimumSystemVersion; checking the binaries against 13.0 (PySide6 6.11's minimum)"
    min_os=13.0
fi
[ -n "$(plist_get NSLocalNetworkUsageDescription)" ] \
    || warn "Info.plist has no NSLocalNetworkUsageDescription: on macOS 15+ the prompt for a dispatch server on the local network has no explanation (README.md, 'Local network privacy')"

arch=$(lipo -archs "$exe")
case $arch in
    arm64|x86_64) ;;
    "x86_64 arm64"|"arm64 x86_64") arch=universal2 ;;
    *) die "unexpected architectures in $exe: $arch" ;;
esac
echo "app: $app ($arch, LSMinimumSystemVersion $min_os)"

# Every regular Mach-O file under $1, NUL-separated (symlinks are skipped: PyInstaller 6 links
# Contents/Resources and Contents/Frameworks to each other).
macho_files() {
    find "$1" -type f -print0 | while IFS= read -r -d '' f; do
        case $(file -b "$f") in Mach-O*) printf '%s\0' "$f" ;; esac
    done
}
# The lowest macOS a Mach-O file says it runs on (LC_BUILD_VERSION minos, or the older
# LC_VERSION_MIN_MACOSX version).
minos_of() {
    otool -l "$1" | awk '
        /cmd LC_BUILD_VERSION/ { b = 1 }
        b && $1 == "minos" { print $2; exit }
        /cmd LC_VERSION_MIN_MACOSX/ { v = 1 }
        v && $1 == "version" { print $2; exit }'
}
version_gt() {  # is $1 > $2, comparing major.minor.patch numerically
    awk -v a="$1" -v b="$2" 'BEGIN {
        n = split(a, x, "."); m = split(b, y, ".")
        for (i = 1; i <= 3; i++) {
            p = (i <= n ? x[i] : 0) + 0; q = (i <= m ? y[i] : 0) + 0
            if (p > q) exit 0
            if (p < q) exit 1
        }
        exit 1 }'
}

# --- 4. will it run on the oldest macOS it claims? ----------------------------------------------
log "minimum macOS of every binary (must be <= $min_os)"
too_new=0
while IFS= read -r -d '' f; do
    m=$(minos_of "$f")
    if [ -n "$m" ] && version_gt "$m" "$min_os"; then
        echo "  needs macOS $m: ${f#"$app"/}"
        too_new=$((too_new + 1))
    fi
done < <(macho_files "$app")
if [ "$too_new" -gt 0 ]; then
    die "$too_new binaries need a newer macOS than LSMinimumSystemVersion $min_os. pip took wheels for the macOS of this build machine: build on macOS $min_os (README.md, 'Which macOS to build on'), or raise LSMinimumSystemVersion in the spec"
fi

# --- 5. sign, inside out ------------------------------------------------------------------------
sign() { run codesign --force --timestamp --options runtime --sign "$identity" "$@"; }
if [ -n "$identity" ]; then
    log "signing with $identity"
    xattr -cr "$app"  # Finder info and resource forks make codesign fail ("detritus not allowed")

    # (a) Loose code: the Python library, extension modules (.so), .dylibs. No entitlements on
    #     library code. The main executable is signed with the bundle in (c).
    while IFS= read -r -d '' f; do
        case $f in
            "$exe") ;;
            *.framework/*) ;;
            *) sign "$f" ;;
        esac
    done < <(macho_files "$app")

    # (b) Frameworks (Qt's), deepest first: code inside each that is not its main binary, then
    #     the framework itself.
    find "$app" -type d -name '*.framework' -print | awk '{ print gsub("/", "/"), $0 }' \
        | sort -rn | cut -d' ' -f2- | while IFS= read -r fw; do
            fw_name=$(basename "$fw" .framework)
            while IFS= read -r -d '' f; do
                rel=${f#"$fw"/}
                case $rel in
                    *.framework/*) ;;                 # a nested framework: signed already
                    "$fw_name"|Versions/*/"$fw_name") ;;  # the main binary: signed with the framework
                    *) sign "$f" ;;
                esac
            done < <(macho_files "$fw")
            sign "$fw" || die "codesign refused $fw: a framework whose layout PyInstaller did not keep (Versions/Current, Resources/Info.plist)? See README.md, 'Troubleshooting'"
        done

    # (c) The app: its main executable gets the entitlements.
    sign --entitlements "$entitlements" "$app"

    log "verifying the signature"
    run codesign --verify --deep --strict --verbose=2 "$app"
    run codesign --display --verbose=2 "$app"
    run codesign --display --entitlements - "$app"
else
    warn "DD_MAC_SIGN_IDENTITY not set: the .app keeps PyInstaller's ad-hoc signatures; Gatekeeper blocks it on every other Mac. Test builds only."
fi

# --- 6. smoke test (with the hardened runtime: this is what tests the entitlements) -------------
if [ "$skip_smoke" != 1 ]; then
    log "smoke test"
    printf '+ %s --version\n' "$exe"
    said=$("$exe" --version) || die "$exe --version failed"
    echo "$said"
    [ "$said" = "$name $version" ] || die "$exe --version says '$said', metadata says '$name $version'"
    smoke=$build_dir/smoke
    rm -rf "$smoke"
    mkdir -p "$smoke"
    printf '+ %s\n' "$exe --demo --screenshot $smoke/a.png (at most 180 s)"
    "$exe" --demo --screenshot "$smoke/a.png" --data-dir "$smoke/data" --config-dir "$smoke/config" &
    pid=$!
    waited=0  # a polling watchdog: no background sleeper left to kill a recycled pid later
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$waited" -ge 180 ]; then kill "$pid" 2>/dev/null || true; break; fi
        sleep 1
        waited=$((waited + 1))
    done
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" -eq 0 ] || die "--demo --screenshot exited with $rc (killed after 180 s if 143); see $smoke/data/logs/workstation.log and Console.app crash reports"
    ls "$smoke"/*.png >/dev/null 2>&1 || die "--demo --screenshot wrote no PNG in $smoke"
    echo "smoke: --version and --demo --screenshot passed ($smoke)"
fi

# --- 7. notarise and staple the app -------------------------------------------------------------
json_field() {
    "$vpy" -c 'import json, sys
try:
    print(json.loads(sys.argv[1]).get(sys.argv[2], ""))
except ValueError:
    print("")' "$1" "$2"
}
notarise() {  # submit $1, wait, and stop the build unless Apple accepted it
    local file=$1 out id status
    printf '+ xcrun notarytool submit %s --keychain-profile %s --wait\n' "$file" "$profile"
    out=$(xcrun notarytool submit "$file" --keychain-profile "$profile" --wait --output-format json) || true
    printf '%s\n' "$out"
    id=$(json_field "$out" id)
    status=$(json_field "$out" status)
    if [ "$status" != Accepted ]; then
        if [ -n "$id" ]; then
            xcrun notarytool log "$id" --keychain-profile "$profile" "$build_dir/notary-$id.json" || true
            die "notarisation of $file: $status; Apple's log: $build_dir/notary-$id.json"
        fi
        die "notarisation of $file: no answer from notarytool (see its output above)"
    fi
}
notarised=0
if [ -n "$profile" ]; then
    log "notarising the app"
    zip=$build_dir/$name-$version-macos-$arch.app.zip
    rm -f "$zip"
    run ditto -c -k --sequesterRsrc --keepParent "$app" "$zip"  # ditto keeps the symlinks; zip without -y does not
    notarise "$zip"
    rm -f "$zip"
    run xcrun stapler staple "$app"
    run xcrun stapler validate "$app"
    notarised=1
elif [ -n "$identity" ]; then
    warn "DD_MAC_NOTARY_PROFILE not set: signed but not notarised; Gatekeeper blocks downloaded copies"
fi

# --- 8. the disk image --------------------------------------------------------------------------
mkdir -p "$dist_dir"
dmg=$dist_dir/$name-$version-macos-$arch.dmg
log "disk image $dmg"
stage=$build_dir/dmg-root
rm -rf "$stage"
mkdir -p "$stage"
run ditto "$app" "$stage/$app_name"
ln -s /Applications "$stage/Applications"
run hdiutil create -volname "$title $version" -srcfolder "$stage" -ov -format UDZO "$dmg"
rm -rf "$stage"
if [ -n "$identity" ]; then
    run codesign --force --timestamp --sign "$identity" --identifier "$app_id.dmg" "$dmg"
    run codesign --verify --verbose=2 "$dmg"
fi
if [ "$notarised" -eq 1 ]; then
    notarise "$dmg"
    run xcrun stapler staple "$dmg"
    run xcrun stapler validate "$dmg"
fi

# --- 9. the installer package (for MDM), when an installer identity is given --------------------
pkg=
if [ -n "$installer_identity" ]; then
    pkg=$dist_dir/$name-$version-macos-$arch.pkg
    log "installer package $pkg"
    root=$build_dir/pkg-root
    component_plist=$build_dir/component.plist
    component_pkg=$build_dir/component.pkg
    rm -rf "$root" "$component_plist" "$component_pkg"
    mkdir -p "$root"
    run ditto "$app" "$root/$app_name"
    run pkgbuild --analyze --root "$root" "$component_plist"
    # Not relocatable: otherwise Installer "upgrades" any other copy with the same bundle id it
    # finds on the disk (a test copy in ~/Downloads) instead of installing to /Applications.
    /usr/libexec/PlistBuddy -c "Set :0:BundleIsRelocatable false" "$component_plist"
    run pkgbuild --root "$root" --component-plist "$component_plist" --install-location /Applications \
        --identifier "$app_id.pkg" --version "$version" "$component_pkg"
    run productbuild --package "$component_pkg" --sign "$installer_identity" --timestamp "$pkg"
    rm -rf "$root" "$component_plist" "$component_pkg"
    run pkgutil --check-signature "$pkg"
    if [ "$notarised" -eq 1 ]; then
        notarise "$pkg"
        run xcrun stapler staple "$pkg"
        run xcrun stapler validate "$pkg"
    fi
fi

# --- 10. Gatekeeper's verdict, as a downloaded copy would get it --------------------------------
if [ "$notarised" -eq 1 ]; then
    log "Gatekeeper"
    check() {  # run spctl, show its verdict, stop unless it says notarised Developer ID
        local verdict
        verdict=$(spctl "$@" 2>&1) || die "spctl $*: $verdict"
        printf '%s\n' "$verdict"
        case $verdict in
            *"source=Notarized Developer ID"*) ;;
            *) die "spctl $*: not 'Notarized Developer ID'" ;;
        esac
    }
    check --assess --type execute -vv "$app"
    check --assess --type open --context context:primary-signature -vv "$dmg"
    if [ -n "$pkg" ]; then check --assess --type install -vv "$pkg"; fi
fi

log "done"
for f in "$dmg" ${pkg:+"$pkg"}; do
    echo "built:  $f"
    echo "sha256: $(shasum -a 256 "$f" | cut -d' ' -f1)"
done
if [ "$notarised" -eq 0 ]; then
    echo "NOT notarised: for testing on this Mac only, never for a dispatch floor"
fi
