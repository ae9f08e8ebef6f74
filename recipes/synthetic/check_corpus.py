#!/usr/bin/env python3
"""Checks a corpus made by make_corpus.sh: python3 check_corpus.py DIR

Every manifest row points at a 16 kHz mono 16-bit WAV of the stated length (2-8 s); .ltr,
.wrd and .tsv have the same number of rows and agree with each other; the text is upper-case
A-Z, apostrophe and space; dev/test/test-other sentences never occur in train-1h, train-10m or
unlabeled; train-10m is part of train-1h; test-other's voices are never used in the other
splits; dict.ltr.txt is `SYMBOL COUNT`, sorted by count. Prints one line per problem and exits 1
if there is any, else prints a summary per split."""

import os
import re
import sys
import wave

SPLITS = ["unlabeled", "train-10m", "train-1h", "dev", "test", "test-other"]
TRAIN = ["unlabeled", "train-10m", "train-1h"]
EVAL = ["dev", "test", "test-other"]


def main():
    if len(sys.argv) != 2:
        print("usage: check_corpus.py DIR", file=sys.stderr)
        sys.exit(2)
    out = sys.argv[1]
    problems = []

    def bad(msg):
        problems.append(msg)
        print("check_corpus: " + msg)

    texts, voices, ids = {}, {}, {}
    for split in SPLITS:
        try:
            with open(os.path.join(out, split + ".tsv"), encoding="utf-8") as f:
                tsv = f.read().splitlines()
            with open(os.path.join(out, split + ".ltr"), encoding="utf-8") as f:
                ltr = f.read().splitlines()
            with open(os.path.join(out, split + ".wrd"), encoding="utf-8") as f:
                wrd = f.read().splitlines()
            with open(os.path.join(out, split + ".meta.tsv"), encoding="utf-8") as f:
                meta = f.read().splitlines()[1:]
        except OSError as e:
            bad("%s: %s" % (split, e))
            continue
        root, rows = tsv[0], tsv[1:]
        if not os.path.isabs(root) or not os.path.isdir(root):
            bad("%s.tsv: root %r is not an absolute folder" % (split, root))
        if not (len(rows) == len(ltr) == len(wrd) == len(meta)):
            bad("%s: %d tsv rows, %d ltr, %d wrd, %d meta" % (split, len(rows), len(ltr),
                                                              len(wrd), len(meta)))
            continue
        total = 0
        for i, (row, l, w, m) in enumerate(zip(rows, ltr, wrd, meta)):
            rel, n = row.split("\t")
            path = os.path.join(root, rel)
            if not rel.startswith(split + "/"):
                bad("%s.tsv:%d: %s is not under %s/" % (split, i + 2, rel, split))
            try:
                with wave.open(path, "rb") as wf:
                    fmt = (wf.getframerate(), wf.getnchannels(), wf.getsampwidth())
                    k = wf.getnframes()
            except (OSError, wave.Error, EOFError) as e:
                bad("%s: %s" % (path, e))
                continue
            if fmt != (16000, 1, 2):
                bad("%s: format %s, want 16000 Hz mono 16-bit" % (path, fmt))
            if k != int(n) or os.path.getsize(path) != 44 + 2 * k:
                bad("%s: %d samples, manifest says %s" % (path, k, n))
            if not 2.0 <= k / 16000 <= 8.0:
                bad("%s: %.2f s, outside 2-8 s" % (path, k / 16000))
            total += k
            if not re.fullmatch(r"[A-Z']+( [A-Z']+)*", w):
                bad("%s.wrd:%d: bad text %r" % (split, i + 1, w))
            want = " | ".join(" ".join(x) for x in w.split()) + " |"
            if l != want:
                bad("%s.ltr:%d: %r does not match the words %r" % (split, i + 1, l, w))
            f = m.split("\t")
            if not rel.endswith("/" + f[0] + ".wav"):
                bad("%s.meta.tsv:%d: id %s does not match %s" % (split, i + 2, f[0], rel))
            voices.setdefault(split, set()).add((f[2], f[3]))
            ids.setdefault(split, []).append(f[0])
            texts.setdefault(split, set()).add(w)
        print("%-10s %5d utterances %7.1f min %3d voices" % (split, len(rows), total / 16000 / 60,
                                                              len(voices.get(split, ()))))
    train_text = set().union(*(texts.get(s, set()) for s in TRAIN))
    for s in EVAL:
        leak = texts.get(s, set()) & train_text
        if leak:
            bad("%s: %d sentences also in training splits, e.g. %r" % (s, len(leak),
                                                                       sorted(leak)[0]))
    for a in EVAL:
        for b in EVAL:
            if a < b and texts.get(a, set()) & texts.get(b, set()):
                bad("%s and %s share %d sentences" % (a, b, len(texts[a] & texts[b])))
    other = set().union(*(voices.get(s, set()) for s in SPLITS if s != "test-other"))
    if voices.get("test-other", set()) & other:
        bad("test-other voices used elsewhere: %s" % sorted(voices["test-other"] & other))
    if not set(ids.get("train-10m", [])) <= set(ids.get("train-1h", [])):
        bad("train-10m is not part of train-1h")
    try:
        with open(os.path.join(out, "dict.ltr.txt"), encoding="utf-8") as f:
            d = [line.split() for line in f.read().splitlines()]
        counts = [int(c) for _, c in d]
        syms = set(s for s, _ in d)
        if counts != sorted(counts, reverse=True):
            bad("dict.ltr.txt: not sorted by count")
        if syms != set("|'ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
            bad("dict.ltr.txt: symbols %s" % sorted(syms))
    except (OSError, ValueError) as e:
        bad("dict.ltr.txt: %s" % e)
    if problems:
        print("check_corpus: %d problems" % len(problems))
        sys.exit(1)
    print("check_corpus: ok")


if __name__ == "__main__":
    main()
