#!/usr/bin/env python3
"""Secret scanning: cairn's scanner side by side with detect-secrets on the same labelled corpus, in one run.

    python3 -m pip install detect-secrets          # once, from PyPI
    python3 bench/secrets_bench.py --cairn .build/debug/cairn [--results bench/RELIABILITY.md]

The corpus is Tests/Support/secrets-corpus/*.jsonl: one JSON object a line, {"text", "label": positive|negative,
"rule" (positives), "why" (negatives)}. corpus.jsonl is the set cairn's unit test holds at 100 % / 0 %;
corpus-extra.jsonl adds formats and look-alikes the scanner was not written against, so its rates are honest.

Each sample is written to its own file in a temporary folder; both tools scan the same files:
  - cairn through the real binary: `cairn policy scan-secrets FILE... --json` (the scan that gates agents'
    proposals), a sample counts as flagged when any finding names its file;
  - detect-secrets through its CLI: `detect-secrets scan --all-files DIR` with its default plugins and filters.
Reports detection (flagged positives / positives) and false positives (flagged negatives / negatives) per
corpus file and overall, and the samples each tool got wrong. Python 3 standard library plus detect-secrets.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CORPUS_DIR = os.path.join(REPO, "Tests", "Support", "secrets-corpus")
BEGIN, END = "<!-- BEGIN SECRETS -->", "<!-- END SECRETS -->"


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_samples(samples, folder):
    names = []
    for i, s in enumerate(samples):
        name = "sample-%04d.md" % i
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.write(s["text"] + "\n")
        names.append(name)
    return names


def scan_cairn(cairn, folder, names):
    started = time.perf_counter()
    r = subprocess.run([cairn, "policy", "scan-secrets", "--json"] + names, cwd=folder, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if r.returncode not in (0, 1) or not r.stdout.startswith("{"):
        sys.exit("cairn policy scan-secrets failed (%d): %s" % (r.returncode, r.stderr))
    flagged = {}
    for finding in json.loads(r.stdout)["findings"]:
        flagged.setdefault(finding["path"], []).append(finding["rule"])
    return flagged, seconds


def scan_detect_secrets(folder):
    exe = shutil.which("detect-secrets")
    cmd = [exe] if exe else [sys.executable, "-m", "detect_secrets"]
    started = time.perf_counter()
    r = subprocess.run(cmd + ["scan", "--all-files", "."], cwd=folder, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if r.returncode != 0:
        sys.exit("detect-secrets failed (%d): %s\ninstall it with: python3 -m pip install detect-secrets" % (r.returncode, r.stderr))
    baseline = json.loads(r.stdout)
    flagged = {}
    for path, results in baseline["results"].items():
        flagged[os.path.basename(path)] = sorted({x["type"] for x in results})
    version = baseline.get("version", "?")
    return flagged, seconds, version


def rates(samples, names, flagged):
    pos = [(s, n) for s, n in zip(samples, names) if s["label"] == "positive"]
    neg = [(s, n) for s, n in zip(samples, names) if s["label"] == "negative"]
    missed = [s for s, n in pos if n not in flagged]
    false_pos = [(s, flagged[n]) for s, n in neg if n in flagged]
    return {
        "positives": len(pos), "negatives": len(neg),
        "detected": len(pos) - len(missed), "false_positives": len(false_pos),
        "detection": (len(pos) - len(missed)) / len(pos) if pos else 0.0,
        "fp_rate": len(false_pos) / len(neg) if neg else 0.0,
        "missed": missed, "fp": false_pos,
    }


def pct(x):
    return "%.1f %%" % (100 * x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cairn", default=os.path.join(REPO, ".build", "debug", "cairn"))
    ap.add_argument("--results", help="write the table into this Markdown file between %s and %s" % (BEGIN, END))
    ap.add_argument("--verbose", action="store_true", help="list every sample a tool got wrong")
    args = ap.parse_args()

    files = sorted(f for f in os.listdir(CORPUS_DIR) if f.endswith(".jsonl"))
    rows, wrong = [], []
    all_samples, all_names, all_cairn, all_ds = [], [], {}, {}
    tmp = tempfile.mkdtemp(prefix="secrets-bench-")
    try:
        for corpus in files:
            samples = load(os.path.join(CORPUS_DIR, corpus))
            folder = os.path.join(tmp, corpus.replace(".jsonl", ""))
            os.makedirs(folder)
            names = write_samples(samples, folder)
            cairn_flagged, cairn_s = scan_cairn(os.path.abspath(args.cairn), folder, names)
            ds_flagged, ds_s, version = scan_detect_secrets(folder)
            c, d = rates(samples, names, cairn_flagged), rates(samples, names, ds_flagged)
            rows.append((corpus, c, d, cairn_s, ds_s))
            for tool, r in (("cairn", c), ("detect-secrets", d)):
                for s in r["missed"]:
                    wrong.append("%s %s missed %s: %s" % (corpus, tool, s.get("rule", "?"), s["text"][:90].replace("\n", "\\n")))
                for s, why in r["fp"]:
                    wrong.append("%s %s false positive %s (%s): %s" % (corpus, tool, why, s.get("why", ""), s["text"][:90]))
            prefix = corpus + "/"
            all_samples += samples
            all_names += [prefix + n for n in names]
            all_cairn.update({prefix + k: v for k, v in cairn_flagged.items()})
            all_ds.update({prefix + k: v for k, v in ds_flagged.items()})
        total_c, total_d = rates(all_samples, all_names, all_cairn), rates(all_samples, all_names, all_ds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    lines = [
        "| Corpus | samples (pos/neg) | cairn detection | cairn false positives | detect-secrets %s detection | detect-secrets false positives |" % version,
        "|---|---|---|---|---|---|",
    ]
    for corpus, c, d, _, _ in rows + [("all", total_c, total_d, 0, 0)]:
        lines.append("| %s | %d/%d | %s (%d) | %s (%d) | %s (%d) | %s (%d) |" % (
            corpus, c["positives"], c["negatives"], pct(c["detection"]), c["detected"], pct(c["fp_rate"]), c["false_positives"],
            pct(d["detection"]), d["detected"], pct(d["fp_rate"]), d["false_positives"]))
    table = "\n".join(lines)
    print(table)
    if args.verbose or True:
        print("\nSamples a tool got wrong:")
        for w in wrong:
            print("  " + w)
    if args.results:
        section = "%s\n%s\n\nWrong calls (%d):\n\n%s\n%s" % (
            BEGIN, table, len(wrong), "\n".join("- " + w.replace("|", "\\|") for w in wrong), END)
        text = open(args.results, encoding="utf-8").read() if os.path.exists(args.results) else ""
        if BEGIN in text and END in text:
            text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
        else:
            text += "\n" + section + "\n"
        with open(args.results, "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
