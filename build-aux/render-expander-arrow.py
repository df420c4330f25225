#!/usr/bin/env python3
"""Renders libadwaita's expander arrow (adw-expander-arrow-symbolic) as symbolic PNGs, 16 and
32 px, into data/resources/icons/, where the app's icon path makes GTK prefer them to
libadwaita's SVG. Drawing that one SVG was what loaded librsvg (6.5 MB) into every window with
an expander row. The arrow is the SVG's own shape: a chevron (3,10)-(8,5)-(13,10) on the
16 px grid, stroked 2 px with round ends. Symbolic PNG: black with coverage in alpha, which GTK
recolours to the foreground. Pure Python, so it runs anywhere: build-aux/render-expander-arrow.py
(--check: only compare, as the test command does).
"""
import math
import os
import struct
import sys
import zlib

SEGMENTS = [((3.0, 10.0), (8.0, 5.0)), ((8.0, 5.0), (13.0, 10.0))]
RADIUS = 1.0
SUB = 8  # supersamples per axis


def dist(px, py, a, b):
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def render(size):
    scale = 16.0 / size
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter: none
        for x in range(size):
            hits = 0
            for sy in range(SUB):
                for sx in range(SUB):
                    px = (x + (sx + 0.5) / SUB) * scale
                    py = (y + (sy + 0.5) / SUB) * scale
                    if min(dist(px, py, a, b) for a, b in SEGMENTS) <= RADIUS:
                        hits += 1
            row += bytes([0, 0, 0, round(255 * hits / (SUB * SUB))])
        rows.append(bytes(row))
    return png(size, b"".join(rows))


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png(size, raw):
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    """With --check, fails when the committed PNGs differ from what this script draws."""
    check = sys.argv[1:] == ["--check"]
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "resources", "icons"))
    stale = 0
    for size in (16, 32):
        path = os.path.join(root, f"{size}x{size}", "actions", "adw-expander-arrow-symbolic.symbolic.png")
        png_bytes = render(size)
        if check:
            try:
                with open(path, "rb") as f:
                    same = f.read() == png_bytes
            except OSError:
                same = False
            if not same:
                print(f"{path} is not what build-aux/render-expander-arrow.py draws: run it", file=sys.stderr)
                stale += 1
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(png_bytes)
        print(path)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
