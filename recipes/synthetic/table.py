#!/usr/bin/env python3
"""Prints the recipe's results table (Markdown) from EXP/ft-*/{test,test-other}.json."""
import json
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main():
    exp = sys.argv[1]
    print("| labels | init | test CER | test WER | test-other CER | test-other WER | fine-tune s |")
    print("|---|---|---|---|---|---|---|")
    for labels in ("train-10m", "train-1h"):
        for init in ("pretrained", "scratch", "logmel"):
            run = f"{labels}-{init}"
            cells = []
            for split in ("test", "test-other"):
                r = load(os.path.join(exp, f"ft-{run}", f"{split}.json"))
                for key in ("cer", "wer"):
                    cells.append("-" if r is None else f"{100 * r[key]:.1f}%")
            try:
                with open(os.path.join(exp, "done", f"finetune-{run}")) as f:
                    secs = f.read().strip()
            except OSError:
                secs = "-"
            print(f"| {labels} | {init} | " + " | ".join(cells) + f" | {secs} |")


if __name__ == "__main__":
    main()
