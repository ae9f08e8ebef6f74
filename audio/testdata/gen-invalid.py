#!/usr/bin/env python3
"""Writes the invalid-*.wav fixtures: each is broken in one named way."""
import os, struct

os.chdir(os.path.dirname(os.path.abspath(__file__)))
good = open("pcm16-16k.wav", "rb").read()
pcm = good[44:44 + 1000]  # 500 frames of real audio


def fmt(code=1, ch=1, rate=16000, bits=16, align=None, size=16):
    align = ch * bits // 8 if align is None else align
    body = struct.pack("<HHIIHH", code, ch, rate, rate * align, align, bits)
    body = (body + b"\0" * 64)[:size]
    return b"fmt " + struct.pack("<I", size) + body


def data(payload, size=None):
    return b"data" + struct.pack("<I", len(payload) if size is None else size) + payload


def riff(*chunks, size=None):
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body) if size is None else size) + body


files = {
    "empty": b"",
    "not-wav": b"This is a text file, not a WAV file.\n" * 4,
    "truncated-riff": good[:7],
    "truncated-header": good[:30],
    "truncated-chunk-header": good[:40],
    "data-too-long": riff(fmt(), data(pcm, size=16000)),
    "huge-data": riff(fmt(), data(pcm, size=0x7FFFFFFF)),
    "huge-chunk": riff(fmt(), b"LIST" + struct.pack("<I", 0xFFFFFFF0) + b"INFO", data(pcm)),
    "huge-fmt": riff(b"fmt " + struct.pack("<I", 0xFFFFFF00) + fmt()[8:], data(pcm)),
    "zero-channels": riff(fmt(ch=0, align=2), data(pcm)),
    "rate-zero": riff(fmt(rate=0), data(pcm)),
    "format-code": riff(fmt(code=0x1234), data(pcm)),
    "mulaw": riff(fmt(code=7, bits=8), data(pcm)),
    "bits-12": riff(fmt(bits=12, align=2), data(pcm)),
    "block-align": riff(fmt(align=3), data(pcm)),
    "fmt-short": riff(fmt(size=8), data(pcm)),
    "no-fmt": riff(data(pcm)),
    "no-data": riff(fmt()),
    "two-fmt": riff(fmt(), fmt(), data(pcm)),
    "rifx": b"RIFX" + riff(fmt(), data(pcm))[4:],
    "not-wave": b"RIFF" + struct.pack("<I", 4) + b"AVI ",
}
for name, b in files.items():
    with open(f"invalid-{name}.wav", "wb") as f:
        f.write(b)
