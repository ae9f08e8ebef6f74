#!/usr/bin/env python3
"""Synthetic English speech corpus for wav2vec-go (see README.md beside this file).

Python 3 standard library only. make_corpus.sh is the entry point; it calls

    corpus.py build  --out DIR --seed N --hours H --jobs J [--eval-minutes M ...]
    corpus.py more   --out DIR --seed N --more-seed M --hours H [--random-share S] --jobs J
    corpus.py worker --out DIR JOB_JSON...     (run by xargs -P, one process per batch)
    corpus.py fixtures --out DIR --dest DIR    (the three test WAVs under testdata/speech)

Everything that varies (sentence partition, voice, speaking rate, sox effects, noise offset)
comes from random.Random seeded with strings built from --seed, the split name and the
utterance index, so the same seed gives the same corpus.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import wave
from array import array

SR = 16000
MIN_SEC, MAX_SEC = 2.0, 8.0
FORTUNE_DIR = "/usr/share/games/fortunes"
DICT_FILE = "/usr/share/dict/american-english"
POOL_SIZE = {"dev": 400, "test": 400, "test-other": 400}  # real sentences kept out of training
RANDOM_SHARE = 0.2  # share of utterances whose text is a random word sequence
NOISES = ("white", "pink", "brown")
NOISE_SEC = 120

# ---------------------------------------------------------------------------------------------
# Voices. Training voices make unlabeled, train-1h, train-10m, dev and test; held-out voices make
# test-other only. Held out: the espeak-ng Klatt family (klatt..klatt6 and the variants built on
# the Klatt synthesiser) on two accents never used in training, flite's awb and festival's ked.

ESPEAK_TRAIN_BASES = ["en-us", "en-gb", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
                      "en-us-nyc"]
ESPEAK_TRAIN_VARIANTS = (
    ["m%d" % i for i in range(1, 9)] + ["f%d" % i for i in range(1, 6)] +
    ["Alex", "Andy", "Annie", "Gene", "Jacky", "Lee", "Mario", "Michael", "Mike", "aunty",
     "belinda", "linda", "grandma", "grandpa", "gustave", "iven", "john", "max", "norbert",
     "pablo", "paul", "pedro", "quincy", "rob", "robert", "shelby", "steph", "travis", "victor"])
ESPEAK_HELD_BASES = ["en-029", "en-gb-scotland"]
ESPEAK_HELD_VARIANTS = ["klatt", "klatt2", "klatt3", "klatt4", "klatt5", "klatt6", "adam",
                        "benjamin", "david", "edward", "edward2"]
FLITE_TRAIN = ["kal", "kal16", "slt", "rms"]
FLITE_HELD = ["awb"]
FESTIVAL_TRAIN = ["kal_diphone", "cmu_us_slt_arctic_hts"]
FESTIVAL_HELD = ["ked_diphone"]

VOICE_SETS = {
    "train": {"espeak": (ESPEAK_TRAIN_BASES, ESPEAK_TRAIN_VARIANTS), "flite": FLITE_TRAIN,
              "festival": FESTIVAL_TRAIN, "weights": (0.5, 0.3, 0.2)},
    "held": {"espeak": (ESPEAK_HELD_BASES, ESPEAK_HELD_VARIANTS), "flite": FLITE_HELD,
             "festival": FESTIVAL_HELD, "weights": (1 / 3, 1 / 3, 1 / 3)},
}

# Split name -> (voice set, sentence pool).
SPLITS = {
    "test-other": ("held", "test-other"),
    "test": ("train", "test"),
    "dev": ("train", "dev"),
    "train-1h": ("train", "train"),
    "unlabeled": ("train", "train"),
}


def die(msg):
    print("make_corpus: " + msg, file=sys.stderr)
    sys.exit(1)


def log(msg):
    print("make_corpus: " + msg, file=sys.stderr, flush=True)


UMASK = os.umask(0)
os.umask(UMASK)


def write_atomic(path, text):
    """Writes text to path through a temporary file in the same folder and a rename."""
    d = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=d)
    try:
        os.fchmod(fd, 0o666 & ~UMASK)  # mkstemp makes 0600
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------------------------------
# Text.

ALLOWED = re.compile(r"^[A-Za-z ',.;:!?\-]+$")
SPLIT_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def load_dict():
    words = set()
    random_words = []
    with open(DICT_FILE, encoding="utf-8", errors="replace") as f:
        for line in f:
            w = line.strip()
            if not w:
                continue
            words.add(w.lower())
            if re.fullmatch(r"[a-z]{3,12}", w):
                random_words.append(w)
    return words, sorted(set(random_words))


def fortune_texts():
    """Yields each fortune (as one string) from the fortune files, offensive ones excluded."""
    names = sorted(n for n in os.listdir(FORTUNE_DIR)
                   if "." not in n and os.path.isfile(os.path.join(FORTUNE_DIR, n)))
    for name in names:
        with open(os.path.join(FORTUNE_DIR, name), encoding="utf-8", errors="replace") as f:
            body = f.read()
        for fortune in body.split("\n%\n"):
            lines = []
            for line in fortune.split("\n"):
                s = line.strip()
                if s.startswith("--") or s == "%":
                    break  # attribution, rest is a citation
                lines.append(s)
            yield " ".join(lines)


def clean_sentence(s, words):
    """Returns (speak, transcript) for a usable sentence, else None.

    speak keeps the sentence's own punctuation for natural prosody; transcript is upper-case
    A-Z, apostrophe and single spaces. Sentences with digits, symbols, abbreviations,
    acronyms, stray letters or words missing from the dictionary are dropped, so what the
    synthesiser says matches the transcript."""
    s = s.replace("`", "'").replace('"', " ").replace("--", ", ")
    s = re.sub(r"\s+", " ", s).strip()
    if not ALLOWED.match(s):
        return None
    if not s[0].isupper() or s[-1] not in ".!?":
        return None
    toks = re.sub(r"[,.;:!?\-]", " ", s).split()
    out = []
    for t in toks:
        t = t.strip("'")
        if not t:
            continue
        if sum(c.isupper() for c in t) > 1:
            return None  # acronym or shouting: a synthesiser may spell it
        low = t.lower()
        if len(low) == 1 and low not in ("a", "i"):
            return None
        base = low[:-2] if low.endswith("'s") else low
        if low not in words and base not in words:
            return None
        out.append(t.upper())
    if not 4 <= len(out) <= 20:
        return None
    tr = " ".join(out)
    if not 25 <= len(tr) <= 110:
        return None
    if s.endswith(".") and re.search(r"\b(Mr|Mrs|Dr|St|Ms|Jr|Sr|vs|etc)\.", s):
        return None
    return s, tr


def build_pools(seed):
    """Returns {pool: [(speak, transcript)]} with disjoint transcripts, plus the random-word
    vocabulary. Eval pools have fixed sizes, so --hours never changes dev/test/test-other."""
    words, random_words = load_dict()
    seen = set()
    sents = []
    for fortune in fortune_texts():
        for s in SPLIT_SENT.split(fortune):
            c = clean_sentence(s, words)
            if c and c[1] not in seen:
                seen.add(c[1])
                sents.append(c)
    sents.sort(key=lambda c: c[1])
    random.Random("%s:pools" % seed).shuffle(sents)
    pools = {}
    i = 0
    for name in ("test-other", "test", "dev"):
        pools[name] = sents[i:i + POOL_SIZE[name]]
        i += POOL_SIZE[name]
    pools["train"] = sents[i:]
    if len(pools["train"]) < 1000:
        die("only %d training sentences from %s; is the fortunes package installed?"
            % (len(pools["train"]), FORTUNE_DIR))
    return pools, random_words


# ---------------------------------------------------------------------------------------------
# Planning: candidate i of a split -> a job (text, voice, effects), deterministic from the seed.

def pick_voice(rng, vset):
    vs = VOICE_SETS[vset]
    engine = rng.choices(["espeak", "flite", "festival"], weights=vs["weights"])[0]
    if engine == "espeak":
        bases, variants = vs["espeak"]
        voice = "%s+%s" % (rng.choice(bases), rng.choice(variants))
        params = {"wpm": rng.randint(140, 190), "pitch": rng.randint(25, 75)}
    else:
        voice = rng.choice(vs[engine])
        params = {}
    return engine, voice, params


def pick_effects(rng):
    fx = {
        "speed": round(rng.uniform(0.9, 1.1), 3),
        "pitch": rng.randint(-250, 250) if rng.random() < 0.5 else 0,
        "pad": [round(rng.uniform(0.05, 0.3), 3), round(rng.uniform(0.05, 0.3), 3)],
        "level": round(rng.uniform(-6, -1), 1),
    }
    if rng.random() < 0.3:
        fx["reverb"] = [rng.randint(10, 60), rng.randint(20, 80), rng.randint(10, 70),
                        rng.randint(0, 20)]
    if rng.random() < 0.6:
        fx["noise"] = rng.choice(NOISES)
        fx["snr"] = round(rng.uniform(20, 35), 1)
        fx["noise_off"] = round(rng.uniform(0, NOISE_SEC - 10), 3)
    return fx


def random_sentence(rng, random_words):
    n = rng.randint(4, 10)
    ws = [rng.choice(random_words) for _ in range(n)]
    return (" ".join(ws).capitalize() + "."), " ".join(w.upper() for w in ws)


class Planner:
    """Deterministic stream of candidate jobs for one split."""

    def __init__(self, seed, split, pools, random_words):
        self.seed, self.split = seed, split
        self.vset, pool_name = SPLITS[split]
        self.pool = list(pools[pool_name])
        if pool_name == "train":
            random.Random("%s:%s:order" % (seed, split)).shuffle(self.pool)
        self.random_words = random_words
        self.cycle = pool_name == "train" and split == "unlabeled"
        self.jobs = []
        self.next_real = 0
        self.prefix = {"test-other": "to", "test": "te", "dev": "dv", "train-1h": "tr",
                       "unlabeled": "ul"}[split]

    def get(self, n):
        while len(self.jobs) < n:
            self.jobs.append(self._make(len(self.jobs)))
        return self.jobs[:n]

    def _make(self, i):
        rng = random.Random("%s:%s:%d" % (self.seed, self.split, i))
        if rng.random() < RANDOM_SHARE:
            speak, tr = random_sentence(rng, self.random_words)
            kind = "random"
        else:
            k = self.next_real
            self.next_real += 1
            if k >= len(self.pool):
                if not self.cycle:
                    die("%s: sentence pool of %d exhausted; lower the split size"
                        % (self.split, len(self.pool)))
                k %= len(self.pool)
            speak, tr = self.pool[k]
            kind = "fortune"
        engine, voice, params = pick_voice(rng, self.vset)
        fx = pick_effects(rng)
        # The id names the voice so listings can be grouped by speaker.
        vid = re.sub(r"[^A-Za-z0-9]+", "-", "%s-%s" % (engine, voice)).strip("-").lower()
        return {"id": "%s%06d-%s" % (self.prefix, i, vid), "split": self.split, "kind": kind,
                "speak": speak, "text": tr, "engine": engine, "voice": voice,
                "params": params, "fx": fx}


# ---------------------------------------------------------------------------------------------
# Worker: synthesise one job into DIR/wav/<split>/<id>.wav (or a rejection marker).

def read_wav16(path):
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError("%s: not 16-bit mono" % path)
        data = array("h")
        data.frombytes(w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        data.byteswap()
    return data


def write_wav16(path, samples):
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".wav", dir=d)
    os.fchmod(fd, 0o666 & ~UMASK)
    os.close(fd)
    try:
        if sys.byteorder == "big":
            samples = array("h", samples)
            samples.byteswap()
        with wave.open(tmp, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SR)
            w.writeframes(samples.tobytes())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Crash(RuntimeError):
    """A tool died of a signal of its own (festival segfaults on some texts, every time)."""


def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, **kw)
    if r.returncode < 0 and -r.returncode not in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        raise Crash("%s crashed (signal %d)" % (cmd[0], -r.returncode))
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (cmd[0], r.returncode,
                                                  r.stderr.decode(errors="replace")[-300:]))


def synth_raw(job, txt, raw):
    e, v = job["engine"], job["voice"]
    if e == "espeak":
        p = job["params"]
        run(["espeak-ng", "-v", v, "-s", str(p["wpm"]), "-p", str(p["pitch"]), "-f", txt,
             "-w", raw])
    elif e == "flite":
        run(["flite", "-voice", v, "-f", txt, "-o", raw])
    elif e == "festival":
        run(["text2wave", "-eval", "(voice_%s)" % v, txt, "-o", raw])
    else:
        raise ValueError("unknown engine " + e)


def sox_chain(fx):
    eff = ["speed", str(fx["speed"])]
    if fx["pitch"]:
        eff += ["pitch", str(fx["pitch"])]
    eff += ["rate", "-v", str(SR), "pad", str(fx["pad"][0]), str(fx["pad"][1])]
    if "reverb" in fx:
        r = fx["reverb"]
        eff += ["reverb", str(r[0]), str(r[1]), str(r[2]), "100", str(r[3])]
    eff += ["channels", "1", "norm", str(fx["level"])]
    return eff


def add_noise(speech, noise_path, offset, snr_db):
    with wave.open(noise_path, "rb") as w:
        w.setpos(min(int(offset * SR), max(0, w.getnframes() - len(speech))))
        noise = array("h")
        noise.frombytes(w.readframes(len(speech)))
    if sys.byteorder == "big":
        noise.byteswap()
    n = min(len(speech), len(noise))
    ps = sum(x * x for x in speech) / max(1, len(speech))
    pn = sum(x * x for x in noise[:n]) / max(1, n)
    if ps == 0 or pn == 0:
        return speech
    g = (ps / pn / (10 ** (snr_db / 10))) ** 0.5
    out = array("h", speech)
    for i in range(n):
        y = int(round(speech[i] + g * noise[i]))
        out[i] = 32767 if y > 32767 else (-32768 if y < -32768 else y)
    return out


def job_paths(out, job):
    wav = os.path.join(out, "wav", job["split"], job["id"] + ".wav")
    rej = os.path.join(out, "work", "rejected", job["split"], job["id"])
    return wav, rej


def do_job(out, job, dest=None):
    wav, rej = job_paths(out, job)
    if dest:
        wav = dest
    elif os.path.exists(wav) or os.path.exists(rej):
        return
    tmpd = tempfile.mkdtemp(prefix="utt-", dir=os.path.join(out, "work", "tmp"))
    try:
        txt = os.path.join(tmpd, "text.txt")
        with open(txt, "w", encoding="utf-8") as f:
            f.write(job["speak"] + "\n")
        raw = os.path.join(tmpd, "raw.wav")
        try:
            synth_raw(job, txt, raw)
        except Crash as e:
            if dest:
                raise
            # Deterministic: a rerun would crash again, so the candidate is
            # rejected like one of the wrong length, and the split goes on.
            write_atomic(rej, "%s\n" % e)
            return
        aug = os.path.join(tmpd, "aug.wav")
        run(["sox", "-R", "-D", "-V1", raw, "-b", "16", "-e", "signed-integer", aug]
            + sox_chain(job["fx"]))
        speech = read_wav16(aug)
        fx = job["fx"]
        if "noise" in fx:
            npath = os.path.join(out, "work", "noise-%s.wav" % fx["noise"])
            speech = add_noise(speech, npath, fx["noise_off"], fx["snr"])
        sec = len(speech) / SR
        if not dest and not MIN_SEC <= sec <= MAX_SEC:
            write_atomic(rej, "%d\n" % len(speech))
            return
        write_wav16(wav, speech)
    finally:
        for f in os.listdir(tmpd):
            os.unlink(os.path.join(tmpd, f))
        os.rmdir(tmpd)


def cmd_worker(args):
    failed = 0
    for a in args.jobs:
        job = json.loads(a)
        try:
            do_job(args.out, job)
        except Exception as e:  # one bad utterance must not stop the batch
            failed += 1
            print("make_corpus: %s: %s" % (job.get("id"), e), file=sys.stderr)
    sys.exit(1 if failed else 0)


# ---------------------------------------------------------------------------------------------
# Building splits.

def make_noise(out):
    for kind in NOISES:
        p = os.path.join(out, "work", "noise-%s.wav" % kind)
        if os.path.exists(p):
            continue
        tmp = p + ".tmp.wav"
        run(["sox", "-R", "-D", "-n", "-r", str(SR), "-b", "16", "-c", "1", tmp, "synth",
             str(NOISE_SEC), kind + "noise", "vol", "0.5"])
        os.replace(tmp, p)


def run_jobs(out, jobs, njobs):
    todo = [j for j in jobs if not any(os.path.exists(p) for p in job_paths(out, j))]
    if not todo:
        return
    inp = "".join(json.dumps(j, separators=(",", ":")) + "\n" for j in todo)
    me = os.path.abspath(__file__)
    cmd = ["xargs", "-d", "\n", "-n", "8", "-P", str(njobs), "nice", "-n", "10",
           sys.executable, me, "worker", "--out", out]
    r = subprocess.run(cmd, input=inp.encode())
    if r.returncode != 0:
        log("some utterances failed (see above); they are retried on the next run")


def nframes(path):
    with wave.open(path, "rb") as w:
        return w.getnframes()


def ltr_line(tr):
    return " | ".join(" ".join(w) for w in tr.split()) + " |"


def write_manifest(out, split, rows):
    """rows: [(job, relpath, nframes)]. Writes DIR/split.{tsv,ltr,wrd,meta.tsv}."""
    root = os.path.join(os.path.abspath(out), "wav")
    tsv = [root] + ["%s\t%d" % (rel, n) for _, rel, n in rows]
    ltr = [ltr_line(j["text"]) for j, _, _ in rows]
    wrd = [j["text"] for j, _, _ in rows]
    meta = ["id\tkind\tengine\tvoice\tparams\teffects\tspeak"] + [
        "\t".join([j["id"], j["kind"], j["engine"], j["voice"],
                   json.dumps(j["params"], separators=(",", ":")),
                   json.dumps(j["fx"], separators=(",", ":")), j["speak"]]) for j, _, _ in rows]
    for ext, lines in (("tsv", tsv), ("ltr", ltr), ("wrd", wrd), ("meta.tsv", meta)):
        write_atomic(os.path.join(out, "%s.%s" % (split, ext)), "\n".join(lines) + "\n")


def build_split(out, split, target_sec, planner, njobs):
    marker = os.path.join(out, "work", "done", split)
    if os.path.exists(marker):
        log("%s: complete, skipped" % split)
        return
    t0 = time.time()
    os.makedirs(os.path.join(out, "wav", split), exist_ok=True)
    os.makedirs(os.path.join(out, "work", "rejected", split), exist_ok=True)
    rows, total, n, rejected = [], 0, 0, 0
    while total < target_sec * SR:
        # Utterances average about 4.2 s; aim a little short and top up, so that few
        # candidates past the cut are made for nothing. Chunking never changes the result.
        need = (target_sec * SR - total) / SR / 4.5
        step = max(4 * njobs, int(need) + 1)
        jobs = planner.get(n + step)
        run_jobs(out, jobs[n:], njobs)
        for j in jobs[n:]:
            n += 1
            wav, rej = job_paths(out, j)
            if os.path.exists(wav):
                k = nframes(wav)
                rows.append((j, "%s/%s.wav" % (split, j["id"]), k))
                total += k
                if total >= target_sec * SR:
                    break
            elif os.path.exists(rej):
                rejected += 1
            else:
                die("%s: %s was not made; rerun to retry" % (split, j["id"]))
        log("%s: %d utterances, %.1f of %.1f min" % (split, len(rows), total / SR / 60,
                                                     target_sec / 60))
    keep = set(j["id"] + ".wav" for j, _, _ in rows)
    d = os.path.join(out, "wav", split)
    for f in os.listdir(d):  # candidates synthesised past the cut
        if f not in keep:
            os.unlink(os.path.join(d, f))
    write_manifest(out, split, rows)
    write_atomic(marker, "%d utterances %.1f s rejected %d built_in %.0f s\n"
                 % (len(rows), total / SR, rejected, time.time() - t0))
    log("%s: done, %d utterances, %.1f min, %d rejected (outside %g-%g s, or the synthesiser crashed), %.0f s"
        % (split, len(rows), total / SR / 60, rejected, MIN_SEC, MAX_SEC, time.time() - t0))


def read_manifest(out, split):
    with open(os.path.join(out, split + ".tsv"), encoding="utf-8") as f:
        lines = f.read().splitlines()[1:]
    with open(os.path.join(out, split + ".ltr"), encoding="utf-8") as f:
        ltr = f.read().splitlines()
    with open(os.path.join(out, split + ".wrd"), encoding="utf-8") as f:
        wrd = f.read().splitlines()
    with open(os.path.join(out, split + ".meta.tsv"), encoding="utf-8") as f:
        meta = f.read().splitlines()[1:]
    return lines, ltr, wrd, meta


def build_subset(out, src, split, target_sec):
    """split = the prefix of src that reaches target_sec, hard-linked into wav/<split>/."""
    marker = os.path.join(out, "work", "done", split)
    if os.path.exists(marker):
        log("%s: complete, skipped" % split)
        return
    lines, ltr, wrd, meta = read_manifest(out, src)
    d = os.path.join(out, "wav", split)
    os.makedirs(d, exist_ok=True)
    rows, total = [], 0
    for i, line in enumerate(lines):
        if total >= target_sec * SR:
            break
        rel, k = line.split("\t")
        name = os.path.basename(rel)
        dst = os.path.join(d, name)
        if not os.path.exists(dst):
            if os.path.exists(dst + ".tmp"):
                os.unlink(dst + ".tmp")
            try:
                os.link(os.path.join(out, "wav", rel), dst + ".tmp")
            except OSError:
                shutil.copyfile(os.path.join(out, "wav", rel), dst + ".tmp")
            os.replace(dst + ".tmp", dst)
        rows.append(i)
        total += int(k)
    root = os.path.join(os.path.abspath(out), "wav")
    tsv = [root] + ["%s/%s" % (split, lines[i].split("/", 1)[1]) for i in rows]
    with open(os.path.join(out, src + ".meta.tsv"), encoding="utf-8") as f:
        head = f.readline().rstrip("\n")
    for ext, ls in (("tsv", tsv), ("ltr", [ltr[i] for i in rows]),
                    ("wrd", [wrd[i] for i in rows]), ("meta.tsv", [head] + [meta[i] for i in rows])):
        write_atomic(os.path.join(out, "%s.%s" % (split, ext)), "\n".join(ls) + "\n")
    write_atomic(marker, "%d utterances %.1f s (prefix of %s)\n" % (len(rows), total / SR, src))
    log("%s: done, %d utterances, %.1f min (prefix of %s)" % (split, len(rows), total / SR / 60,
                                                               src))


def write_dict(out):
    """dict.ltr.txt from the train-1h labels: `SYMBOL COUNT`, most frequent first. Symbols of
    the fixed alphabet (| ' A-Z) that never occur are listed with count 0."""
    counts = {c: 0 for c in "|'ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
    with open(os.path.join(out, "train-1h.ltr"), encoding="utf-8") as f:
        for line in f:
            for sym in line.split():
                counts[sym] = counts.get(sym, 0) + 1
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    write_atomic(os.path.join(out, "dict.ltr.txt"), "".join("%s %d\n" % kv for kv in items))


def check_config(out, cfg):
    p = os.path.join(out, "work", "config.json")
    text = json.dumps(cfg, sort_keys=True, indent=1) + "\n"
    if os.path.exists(p):
        with open(p, encoding="utf-8") as f:
            old = f.read()
        if old != text:
            die("%s was made with other settings:\n%s\nnow:\n%s\nuse another --out or delete it"
                % (out, old, text))
    else:
        write_atomic(p, text)


def prepare_out(out):
    """Makes the corpus folders and clears temporary files left by an interrupted run; returns
    the absolute path."""
    out = os.path.abspath(out)
    for sub in ("work/tmp", "work/done", "wav"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    tmp = os.path.join(out, "work", "tmp")
    for d in os.listdir(tmp):
        shutil.rmtree(os.path.join(tmp, d), ignore_errors=True)
    return out


def cmd_build(args):
    out = prepare_out(args.out)
    sizes = {"test-other": args.eval_minutes * 60, "test": args.eval_minutes * 60,
             "dev": args.eval_minutes * 60, "train-1h": args.train1h_minutes * 60,
             "train-10m": args.train10m_minutes * 60, "unlabeled": args.hours * 3600}
    check_config(out, {"seed": args.seed, "sizes_sec": sizes, "version": 1})
    t0 = time.time()
    pools, random_words = build_pools(args.seed)
    log("sentences: %s; %d random-word vocabulary"
        % (", ".join("%s %d" % (k, len(v)) for k, v in pools.items()), len(random_words)))
    make_noise(out)
    for split in ("test-other", "test", "dev", "train-1h", "unlabeled"):
        if split == "unlabeled":
            build_subset(out, "train-1h", "train-10m", sizes["train-10m"])
        pl = Planner(args.seed, split, pools, random_words)
        build_split(out, split, sizes[split], pl, args.jobs)
        if split == "train-1h":
            write_dict(out)
    log("all splits done in %.0f s" % (time.time() - t0))


def cmd_more(args):
    """Only an unlabeled split of new renderings: the sentence pools of --seed (so the dev,
    test and test-other sentences stay out of it), with voices, effects, the order of the
    training sentences and the random-word sentences drawn from --more-seed."""
    global RANDOM_SHARE
    if args.more_seed == args.seed:
        die("--more-seed must differ from --seed, or the renderings repeat the corpus's")
    if not 0 <= args.random_share <= 1:
        die("--random-share must be between 0 and 1")
    RANDOM_SHARE = args.random_share
    out = prepare_out(args.out)
    check_config(out, {"seed": args.seed, "more_seed": args.more_seed,
                       "random_share": args.random_share, "sizes_sec": {"unlabeled": args.hours * 3600},
                       "version": 1})
    pools, random_words = build_pools(args.seed)
    make_noise(out)
    build_split(out, "unlabeled", args.hours * 3600,
                Planner(args.more_seed, "unlabeled", pools, random_words), args.jobs)


def cmd_fixtures(args):
    """Three short test WAVs from TEST-pool sentences (never used in training)."""
    pools, random_words = build_pools(args.seed)
    os.makedirs(os.path.join(args.out, "work", "tmp"), exist_ok=True)
    make_noise(args.out)
    os.makedirs(args.dest, exist_ok=True)
    specs = [
        ("clear_train_voice", "espeak", "en-us+m3", {"wpm": 160, "pitch": 50}, {}),
        ("heldout_voice", "flite", "awb", {}, {}),
        ("noisy_reverb", "festival", "kal_diphone", {},
         {"reverb": [50, 50, 60, 10], "noise": "pink", "snr": 20.0, "noise_off": 33.0}),
    ]
    # Sentences from the first candidates of the test split, so they are in test.wrd too.
    first = [(j["speak"], j["text"]) for j in Planner(args.seed, "test", pools,
                                                      random_words).get(60)
             if j["kind"] == "fortune"]
    used = set()
    lines = []
    for name, engine, voice, params, extra in specs:
        for speak, tr in first:
            if tr in used or not 4 <= len(tr.split()) <= 7 or len(tr) > 40:
                continue
            fx = {"speed": 1.0, "pitch": 0, "pad": [0.15, 0.15], "level": -3.0}
            fx.update(extra)
            job = {"id": name, "split": "fixtures", "speak": speak, "text": tr,
                   "engine": engine, "voice": voice, "params": params, "fx": fx}
            dest = os.path.join(args.dest, name + ".wav")
            do_job(args.out, job, dest=dest)
            sec = nframes(dest) / SR
            if 2.0 <= sec <= 4.0:
                used.add(tr)
                lines.append("%s\t%s" % (name, tr))
                log("fixture %s: %.2f s %s %s: %s" % (name, sec, engine, voice, tr))
                break
            os.unlink(dest)
        else:
            die("no test sentence gave a 2-4 s fixture for " + name)
    write_atomic(os.path.join(args.dest, "transcripts.txt"), "\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--out", required=True)
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--hours", type=float, default=3.0)
    b.add_argument("--jobs", type=int, default=2)
    b.add_argument("--eval-minutes", type=float, default=10.0)
    b.add_argument("--train1h-minutes", type=float, default=60.0)
    b.add_argument("--train10m-minutes", type=float, default=10.0)
    m = sub.add_parser("more")
    m.add_argument("--out", required=True)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--more-seed", type=int, required=True)
    m.add_argument("--hours", type=float, default=3.0)
    m.add_argument("--random-share", type=float, default=RANDOM_SHARE)
    m.add_argument("--jobs", type=int, default=2)
    w = sub.add_parser("worker")
    w.add_argument("--out", required=True)
    w.add_argument("jobs", nargs="*")
    fx = sub.add_parser("fixtures")
    fx.add_argument("--out", required=True)
    fx.add_argument("--dest", required=True)
    fx.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    {"build": cmd_build, "more": cmd_more, "worker": cmd_worker,
     "fixtures": cmd_fixtures}[args.cmd](args)


if __name__ == "__main__":
    main()
