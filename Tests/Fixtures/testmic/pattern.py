#!/usr/bin/env python3
"""pattern.py OUT.raw CHANNELS [FRAMES]: writes the test pattern as raw s16le at 48 kHz (stdlib only).

Channel 0: a 999.76 Hz sine at -20 dBFS (1365 cycles every 65536 frames, amplitude 3277).
Channel 1 (stereo only): a frame counter modulo 65536, so any gap, repeat or inserted silence is visible.
The pattern repeats every 65536 frames; FRAMES defaults to one period. OUT.raw may be "-" for stdout.
TestSupport's TestPattern generates the same bytes in Swift (a test compares the two)."""
import math
import struct
import sys

if len(sys.argv) < 3:
    sys.exit("usage: pattern.py OUT.raw CHANNELS [FRAMES]")
out, channels = sys.argv[1], int(sys.argv[2])
frames = int(sys.argv[3]) if len(sys.argv) > 3 else 65536
if channels not in (1, 2):
    sys.exit("pattern.py: CHANNELS must be 1 or 2")
if frames < 0:
    sys.exit("pattern.py: FRAMES must not be negative")
# No value of 3277*sin(...) lies within 1e-6 of a half, so Python's round (half to even) and Swift's
# .rounded() (half away from zero) give the same samples.
sine = [round(3277.0 * math.sin(2 * math.pi * 1365 * i / 65536)) for i in range(65536)]
if channels == 1:
    period = struct.pack("<65536h", *sine)
else:
    inter = []
    for i in range(65536):
        inter.append(sine[i])
        inter.append(i - 65536 if i >= 32768 else i)
    period = struct.pack("<131072h", *inter)
frame_bytes = 2 * channels
with (sys.stdout.buffer if out == "-" else open(out, "wb")) as f:
    for start in range(0, frames, 65536):
        n = min(65536, frames - start)
        f.write(period[: n * frame_bytes])
