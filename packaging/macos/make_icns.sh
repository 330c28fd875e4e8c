#!/usr/bin/env bash
# Build the macOS icon dispatch-desktop.icns from the PNG renders in packaging/icons/.
#
#   packaging/macos/make_icns.sh [--src DIR] [--out FILE] [--iconset-only]
#
# Lays out an .iconset folder (icon_16x16.png ... icon_512x512@2x.png, the names iconutil
# requires) from dispatch-desktop-{16,32,48,64,128,256,512}.png, then runs
# `iconutil --convert icns`. A slot whose pixel size has a render of its own gets a copy of it;
# a missing one is scaled down with `sips` from the next larger render, never up. The 1024 px
# slot (icon_512x512@2x) is filled only when dispatch-desktop-1024.png exists; without it the
# .icns still has every size up to 512 and Finder scales for the largest views.
#
# Runs on macOS (iconutil and sips ship with it). --iconset-only stops before iconutil, which
# also works on Linux when every needed render exists (that is how it was tested off a Mac).
# Default output: packaging/icons/dispatch-desktop.icns, beside the renders, where the PyInstaller
# spec takes the macOS icon from; build.sh makes it before each bundle.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
name=dispatch-desktop
src=$repo/resources/icons
out=
iconset_only=0

while [ $# -gt 0 ]; do
    case $1 in
        --src) src=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --iconset-only) iconset_only=1; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "make_icns.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

[ -n "$out" ] || out=$src/$name.icns

# iconutil's slots: file name in the .iconset and its size in pixels.
slots=(
    "icon_16x16.png 16"
    "icon_16x16@2x.png 32"
    "icon_32x32.png 32"
    "icon_32x32@2x.png 64"
    "icon_128x128.png 128"
    "icon_128x128@2x.png 256"
    "icon_256x256.png 256"
    "icon_256x256@2x.png 512"
    "icon_512x512.png 512"
    "icon_512x512@2x.png 1024"
)

# The render sizes present in $src, ascending.
renders=()
for png in "$src/$name"-*.png; do
    [ -e "$png" ] || continue
    size=${png##*/"$name"-}
    size=${size%.png}
    case $size in
        ''|*[!0-9]*) continue ;;
    esac
    renders+=("$size")
done
if [ ${#renders[@]} -eq 0 ]; then
    echo "make_icns.sh: no $name-<size>.png in $src" >&2
    exit 1
fi
sorted=()  # no mapfile: macOS's /bin/bash is 3.2
while IFS= read -r r; do sorted+=("$r"); done < <(printf '%s\n' "${renders[@]}" | sort -n)
renders=("${sorted[@]}")

iconset=${out%.icns}.iconset
rm -rf "$iconset"
mkdir -p "$iconset"

for slot in "${slots[@]}"; do
    file=${slot% *}
    px=${slot#* }
    if [ -e "$src/$name-$px.png" ]; then
        cp "$src/$name-$px.png" "$iconset/$file"
        continue
    fi
    if [ "$px" -eq 1024 ]; then
        echo "make_icns.sh: no $name-1024.png: the .icns stops at 512 px" >&2
        continue
    fi
    larger=
    for r in "${renders[@]}"; do
        if [ "$r" -gt "$px" ]; then larger=$r; break; fi
    done
    if [ -z "$larger" ]; then
        echo "make_icns.sh: no render of $px px or larger for $file (renders: ${renders[*]})" >&2
        exit 1
    fi
    if ! command -v sips >/dev/null 2>&1; then
        echo "make_icns.sh: $file needs scaling from $larger px and sips is macOS only" >&2
        exit 1
    fi
    sips -z "$px" "$px" "$src/$name-$larger.png" --out "$iconset/$file" >/dev/null
done

if [ "$iconset_only" -eq 1 ]; then
    echo "$iconset: $(find "$iconset" -name '*.png' | wc -l | tr -d ' ') images (iconutil not run)"
    exit 0
fi
if ! command -v iconutil >/dev/null 2>&1; then
    echo "make_icns.sh: iconutil not found (it ships with macOS); use --iconset-only elsewhere" >&2
    exit 1
fi
iconutil --convert icns --output "$out" "$iconset"
rm -rf "$iconset"
echo "$out: $(wc -c <"$out" | tr -d ' ') bytes"
