"""Build the Windows icon ``dispatch-desktop.ico`` from the PNG renders beside this script.

    python packaging/icons/make_ico.py [--src DIR] [--out FILE]

Reads ``dispatch-desktop-{16,32,48,64,128,256,512}.png`` (the renders of
``dispatch-desktop.svg``) and writes one ``.ico`` with the 16, 24, 32, 48, 64, 128 and 256 pixel
images Windows picks from (Explorer, the taskbar, Start, the Setup wizard, Apps & features). A
size with a render of its own uses it unchanged; the others (24) are scaled down (Lanczos) from
the nearest larger render, never up. Layout as Microsoft recommends: 256 stored as PNG, the
smaller sizes as 32-bit BMP with alpha, which every consumer of ``.ico`` files reads (the
resource compiler, Inno Setup, old shell code). Needs Pillow (``pip install pillow``); runs on
any OS. The default output, ``packaging/icons/dispatch-desktop.ico`` beside the renders, is where
the PyInstaller spec takes the Windows icon from; ``packaging/windows/build.ps1`` makes it before
each bundle and passes it to Inno Setup too.
"""

from __future__ import annotations

import argparse
import io
import struct
import sys
from pathlib import Path

from PIL import Image

__all__ = ["SIZES", "build_ico", "main"]

HERE = Path(__file__).resolve().parent
#: The PNG renders: product resources (the window icon), in resources/icons.
RENDERS = HERE.parents[1] / "resources" / "icons"
NAME = "dispatch-desktop"
#: The sizes in the .ico, small to large. 256 is the largest an .ico entry can say it is.
SIZES = (16, 24, 32, 48, 64, 128, 256)
#: Entries this large or larger are stored as PNG, the smaller ones as BMP.
PNG_FROM = 256


def _renders(src: Path) -> dict[int, Path]:
    """``{size: path}`` of the square PNG renders ``<NAME>-<size>.png`` in ``src``."""
    found: dict[int, Path] = {}
    for path in sorted(src.glob(f"{NAME}-*.png")):
        stem = path.stem.removeprefix(f"{NAME}-")
        if stem.isdigit():
            found[int(stem)] = path
    return found


def _image(size: int, renders: dict[int, Path]) -> Image.Image:
    """The RGBA image for one entry: the render of that size, else the next larger one scaled."""
    larger = sorted(s for s in renders if s >= size)
    if not larger:
        have = ", ".join(str(s) for s in sorted(renders)) or "none"
        raise SystemExit(f"make_ico: no render of {size} px or larger (renders: {have})")
    path = renders[larger[0]]
    with Image.open(path) as opened:
        image = opened.convert("RGBA")
    if image.width != image.height or image.width != larger[0]:
        raise SystemExit(
            f"make_ico: {path} is {image.width}x{image.height}, not {larger[0]}x{larger[0]}"
        )
    if image.width != size:
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    return image


def _entry(image: Image.Image) -> tuple[bytes, int]:
    """One entry's image data as the .ico holds it, and its bits per pixel."""
    fmt = "png" if image.width >= PNG_FROM else "bmp"
    one = io.BytesIO()
    # Pillow writes a one-image .ico; its data after the 6-byte header and 16-byte entry is the
    # PNG stream or the DIB (BITMAPINFOHEADER, XOR and AND masks) the entry points to.
    image.save(one, format="ICO", sizes=[image.size], bitmap_format=fmt)
    blob = one.getvalue()
    _reserved, _kind, count = struct.unpack_from("<HHH", blob, 0)
    if count != 1:
        raise SystemExit(f"make_ico: Pillow wrote {count} images for one size")
    _w, _h, _colors, _r, _planes, bits, length, offset = struct.unpack_from("<BBBBHHII", blob, 6)
    data = blob[offset : offset + length]
    if fmt == "bmp":
        # BITMAPINFOHEADER from offset 20: biSizeImage, biXPelsPerMeter, biYPelsPerMeter,
        # biClrUsed, biClrImportant are 0 in an icon (Pillow writes 72 dpi there).
        data = data[:20] + struct.pack("<IiiII", 0, 0, 0, 0, 0) + data[40:]
        data += _and_mask(image)  # Pillow leaves it out of 32-bit entries; the format has it
    return data, bits or 32


def _and_mask(image: Image.Image) -> bytes:
    """The 1-bit AND mask after a DIB's pixels: 1 where fully transparent, rows bottom-up, each
    padded to 4 bytes. 32-bit readers use the alpha channel; older ones draw with this."""
    width, height = image.size
    alpha = image.getchannel("A")
    stride = (width + 31) // 32 * 4
    rows = []
    for y in reversed(range(height)):
        row = bytearray(stride)
        for x in range(width):
            if alpha.getpixel((x, y)) == 0:
                row[x // 8] |= 0x80 >> (x % 8)
        rows.append(bytes(row))
    return b"".join(rows)


def build_ico(renders: dict[int, Path], sizes: tuple[int, ...] = SIZES) -> bytes:
    """The bytes of an .ico with one image per size (ICONDIR, ICONDIRENTRYs, then the data)."""
    entries = [(size, *_entry(_image(size, renders))) for size in sizes]
    header = struct.pack("<HHH", 0, 1, len(entries))
    offset = len(header) + 16 * len(entries)
    directory = b""
    data = b""
    for size, blob, bits in entries:
        dim = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        directory += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, bits, len(blob), offset)
        data += blob
        offset += len(blob)
    return header + directory + data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=RENDERS, help="folder of the PNG renders")
    parser.add_argument(
        "--out", type=Path, default=HERE / f"{NAME}.ico", help="the .ico (packaging/icons/)"
    )
    args = parser.parse_args(argv)
    renders = _renders(args.src)
    if not renders:
        parser.error(f"no {NAME}-<size>.png in {args.src}")
    ico = build_ico(renders)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(ico)
    with Image.open(args.out) as check:  # read back: every size is there
        got = sorted(w for w, _h in check.info["sizes"])
    if got != sorted(SIZES):
        raise SystemExit(f"make_ico: {args.out} holds sizes {got}, expected {list(SIZES)}")
    print(f"{args.out}: {', '.join(str(s) for s in SIZES)} px ({len(ico)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
