#!/usr/bin/env python3
"""Would a linear n-gram model beat the rules on customer follow-up posts?

An experiment for issue 16 item 5, not shipped code. For the classes
`resolution` and `escalation` it trains one logistic-regression model per class
with liblinear (`liblinear-train`, Debian's liblinear-tools) on the FIT half of
the dev follow-up labels, over the customer's post text: word 1-2-grams and
char 2-5-grams, binary, L2-normalized, vocabulary from the training posts only.
C, solver and the decision thresholds are chosen by 5-fold cross-validation on
the fit half (folds by conversation, so no conversation is on both sides).
The check half is read only when --check is given, for the final figures.

The rules' verdicts come from `deflectd test-rules --format ndjson`, folded the
way test-rules scores a follow-up: escalations count from customers only,
deflections from brands only, resolution over escalation over deflection.
The model only ever scores customer posts; brand follow-ups keep the rules'
verdict, so the "all follow-ups" figures compare with test-rules' own table.

usage: bench/model_experiment.py [--deflectd build/deflectd] [--rules rules]
                                 [--corpus ../shared/corpus] [--check]
"""
import argparse
import html
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict

CLASSES = ("resolution", "escalation")
# Precision floors from issue 16 ("Done when").
FLOOR = {"resolution": 0.93, "escalation": 0.85}
# The high-precision mode: the model alone must be this precise (fit-half CV).
HP_PRECISION = 0.95
FOLDS = 5
# (features, solver, C): word+char, words only, chars only; L2 (-s 0) and L1 (-s 6) LR.
GRID = ([("wc", 0, c) for c in (1.0, 4.0, 16.0, 64.0)] + [("w", 0, c) for c in (4.0, 16.0, 64.0)] +
        [("c", 0, c) for c in (4.0, 16.0, 64.0)] + [("wc", 6, c) for c in (4.0, 16.0, 64.0)])
LABEL_FILES = ("labels-deflection-dev.ndjson", "labels-followup-dev.ndjson",
               "labels-deflection-dev-r2.ndjson", "labels-followup-dev-r2.ndjson")


def fnv1a32(s):
    """FNV-1a 32-bit of the UTF-8 bytes, as daemon/case_score.c split_half_of()."""
    h = 2166136261
    for b in s.encode("utf-8"):
        h ^= b
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def half(conv):
    return "check" if fnv1a32(conv) & 1 else "fit"


def fold_of(conv):
    """Fit-half CV fold: the hash bits above the split bit."""
    return (fnv1a32(conv) >> 1) % FOLDS


URL = re.compile(r"(?:https?://|www\.)\S+")
MENTION = re.compile(r"(?<![\w])@[\w.\-]*\w")
WS = re.compile(r"\s+")
WORD = re.compile(r"\w+(?:'\w+)*")


def norm(text):
    """Lower-case text without URLs and @mentions, whitespace collapsed.

    daemon/normalize.c decodes entities, folds curly quotes and collapses
    whitespace but keeps URLs and mentions (the rules match caselessly); the
    model drops them because they name accounts, not meaning.
    """
    t = html.unescape(text)
    t = t.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    t = URL.sub(" ", t)
    t = MENTION.sub(" ", t)
    return WS.sub(" ", t).strip().lower()


def ngrams(text, kinds="wc"):
    """The set of feature strings of one normalized text (w: words, c: chars)."""
    f = set()
    if "w" not in kinds:
        words = []
    else:
        words = WORD.findall(text)
    for i, w in enumerate(words):
        f.add("w:" + w)
        if i + 1 < len(words):
            f.add("w:" + w + " " + words[i + 1])
    padded = " " + text + " " if "c" in kinds else ""
    for n in range(2, 6):
        for i in range(len(padded) - n + 1):
            f.add("c:" + padded[i:i + n])
    return f


def read_ndjson(path):
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def load(corpus):
    """Follow-up labels (sure ones) and the posts they name."""
    labels = {}
    for name in LABEL_FILES:
        if "followup" not in name:
            continue
        for o in read_ndjson(os.path.join(corpus, name)):
            if not o.get("unsure"):
                labels[o["id"]] = (o["conversation_id"], o["label"],
                                   "r2" if name.endswith("-r2.ndjson") else "r1")
    posts = {}
    for name in ("conversations.ndjson", "brand-replies.ndjson"):
        for o in read_ndjson(os.path.join(corpus, name)):
            if o["id"] in labels and o["id"] not in posts:
                posts[o["id"]] = o
    return labels, posts


def rule_kinds(deflectd, rules, corpus, wanted):
    """Rule kinds matched per post id (first occurrence, as test-rules)."""
    cmd = [deflectd, "test-rules", "--rules", rules, "--format", "ndjson",
           os.path.join(corpus, "conversations.ndjson"), os.path.join(corpus, "brand-replies.ndjson")]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    kinds = {}
    for line in out.splitlines():
        o = json.loads(line)
        if o["id"] in wanted and o["id"] not in kinds:
            kinds[o["id"]] = {m["kind"] for m in o["matches"]}
    return kinds


def verdict(res, esc):
    """Resolution over escalation, as one follow-up verdict."""
    return res, esc and not res


class Item:
    __slots__ = ("id", "conv", "label", "round", "brand", "text", "feats", "fsets", "rres", "resc", "fold", "half")


def build_items(labels, posts, kinds):
    items = []
    for pid, (conv, label, rnd) in sorted(labels.items()):
        p = posts.get(pid)
        if p is None:
            continue
        it = Item()
        it.id, it.conv, it.label, it.round = pid, conv, label, rnd
        it.brand = bool(p.get("author_is_brand"))
        it.text = norm(p.get("text") or "")
        it.feats = ngrams(it.text)
        it.fsets = {k: ngrams(it.text, k) for k in ("w", "c")}
        it.fsets["wc"] = it.feats
        k = kinds.get(pid, set())
        it.rres = "resolution" in k
        it.resc = "escalation" in k and not it.brand
        it.half = half(conv)
        it.fold = fold_of(conv)
        items.append(it)
    return items


def write_svm(path, items, cls, vocab, fs):
    with open(path, "w") as fh:
        for it in items:
            idx = sorted(vocab[f] for f in it.fsets[fs] if f in vocab)
            v = 1.0 / math.sqrt(len(idx)) if idx else 0.0
            fh.write("%d %s\n" % (1 if it.label == cls else 0, " ".join("%d:%.6f" % (i, v) for i in idx)))


def make_vocab(items, fs, min_df=2):
    df = Counter()
    for it in items:
        df.update(it.fsets[fs])
    keep = sorted(f for f, n in df.items() if n >= min_df)
    return {f: i + 1 for i, f in enumerate(keep)}


def train_predict(train, test, cls, fs, solver, c, tmp, keep_model=None):
    """P(cls) for each test item, from a model trained on train."""
    vocab = make_vocab(train, fs)
    tr, te, mo, pr = (os.path.join(tmp, n) for n in ("train", "test", "model", "pred"))
    write_svm(tr, train, cls, vocab, fs)
    write_svm(te, test, cls, vocab, fs)
    subprocess.run(["liblinear-train", "-q", "-s", str(solver), "-c", str(c), "-B", "1", tr, mo], check=True)
    subprocess.run(["liblinear-predict", "-b", "1", "-q", te, mo, pr], check=True, stdout=subprocess.DEVNULL)
    with open(pr) as fh:
        head = fh.readline().split()
        col = head[1:].index("1") + 1
        probs = [float(line.split()[col]) for line in fh]
    if keep_model is not None:
        keep_model.update(model_summary(mo, vocab))
    return probs


def model_summary(path, vocab):
    """Model size and heaviest n-grams, for what a C scorer would carry."""
    inv = {i: f for f, i in vocab.items()}
    with open(path) as fh:
        lines = fh.read().split("\n")
    w_at = lines.index("w") + 1
    labels = next(line.split()[1:] for line in lines if line.startswith("label "))
    sign = 1.0 if labels[0] == "1" else -1.0
    w = [sign * float(x) for x in lines[w_at:] if x.strip()]
    nz = [(w[i - 1], inv[i]) for i in inv if i - 1 < len(w) and w[i - 1] != 0.0]
    nz.sort()
    return {"vocab": len(vocab), "nonzero": len(nz), "bias": w[-1] if len(w) > len(vocab) else 0.0,
            "top_pos": [f for _, f in nz[::-1][:12]], "top_neg": [f for _, f in nz[:8]]}


def prf(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def counts(items, cls, pred):
    tp = fp = fn = 0
    for it in items:
        t = it.label == cls
        y = pred[it.id]
        tp += t and y
        fp += (not t) and y
        fn += t and not y
    return tp, fp, fn


def predictions(items, score, thr, mode):
    """Per class, per id: the verdict of rules, model or rules OR model."""
    out = {c: {} for c in CLASSES}
    for it in items:
        m = {c: (not it.brand) and score[c].get(it.id, 0.0) >= thr[c] for c in CLASSES}
        if mode == "model":
            res, esc = m["resolution"], m["escalation"]
        else:
            res, esc = verdict(it.rres or m["resolution"], it.resc or m["escalation"])
        out["resolution"][it.id] = res
        out["escalation"][it.id] = esc
    return out


def avg_precision(pairs):
    """Average precision of (score, truth) pairs ranked by score."""
    pairs = sorted(pairs, key=lambda x: -x[0])
    pos = sum(t for _, t in pairs)
    tp = 0
    ap = 0.0
    for i, (_, t) in enumerate(pairs, 1):
        if t:
            tp += 1
            ap += tp / i
    return ap / pos if pos else 0.0


def pick_thresholds(items, cls, oof):
    """Thresholds from fit-half out-of-fold scores of the model alone on
    customer posts: "f1", the one with the best F1; "floor", the lowest one
    whose precision (of all posts at or above it, at least 3 of them right) is
    at least the class's precision floor (FLOOR); "hp", the lowest one whose
    precision stays at least HP_PRECISION at every higher threshold. The rules
    are left out of this choice on purpose: they were read from the fit half,
    so on it they miss almost nothing and would push any OR threshold to "never"."""
    cust = [it for it in items if not it.brand]
    cands = sorted({oof[it.id] for it in cust}, reverse=True)
    best = (-1.0, 1.01)
    hp, hp_open = 1.01, True
    fl = 1.01
    for t in cands:
        tp = sum(1 for it in cust if oof[it.id] >= t and it.label == cls)
        fp = sum(1 for it in cust if oof[it.id] >= t and it.label != cls)
        fn = sum(1 for it in cust if oof[it.id] < t and it.label == cls)
        p, _, f = prf(tp, fp, fn)
        if f > best[0]:
            best = (f, t)
        if hp_open and p < HP_PRECISION:
            hp_open = False
        if hp_open:
            hp = t
        if p >= FLOOR[cls] and tp >= 3:
            fl = t
    return {"f1": best[1], "floor": fl, "hp": hp}


def cv_scores(fit, cls, fs, solver, c, tmp):
    """Out-of-fold P(cls) for every customer post of the fit half."""
    cust = [it for it in fit if not it.brand]
    oof = {}
    for k in range(FOLDS):
        train = [it for it in cust if it.fold != k]
        test = [it for it in cust if it.fold == k]
        for it, p in zip(test, train_predict(train, test, cls, fs, solver, c, tmp)):
            oof[it.id] = p
    return oof


def table_rows(items, score, thr_sets, title):
    """Rules, model and rules OR model on customer posts, and the same over
    all follow-ups (brand ones keep the rules' verdict) to compare with test-rules."""
    rows = []
    modes = [("rules alone", "rules", None), ("model alone (F1 thr)", "model", "f1"),
             ("model alone (high-P thr)", "model", "hp"),
             ("rules OR model (F1 thr)", "or", "f1"), ("rules OR model (floor-P thr)", "or", "floor"),
             ("rules OR model (high-P thr)", "or", "hp")]
    cust = [it for it in items if not it.brand]
    for subset, its in (("customer posts", cust), ("all follow-ups", items)):
        for name, mode, key in modes:
            if subset == "all follow-ups" and mode == "model":
                continue
            for c in CLASSES:
                # Only this class's model is on: what adding it alone does.
                thr = {k: thr_sets[k][key] if key and k == c else 2.0 for k in CLASSES}
                tp, fp, fn = counts(its, c, predictions(its, score, thr, mode)[c])
                p, r, f = prf(tp, fp, fn)
                rows.append(("%s, %s" % (title, subset), c, name, thr[c] if key else None, tp, fp, fn, p, r, f))
    rows.sort(key=lambda r: (r[1] != "resolution", r[0]))
    return rows


def print_rows(rows):
    print("| set | class | verdict | threshold | tp | fp | fn | P | R | F1 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s, c, name, t, tp, fp, fn, p, r, f in rows:
        print("| %s | %s | %s | %s | %d | %d | %d | %.3f | %.3f | %.3f |" % (
            s, c, name, "-" if t is None else "%.3f" % t, tp, fp, fn, p, r, f))


def bootstrap_delta(items, score, thr, cls, n=2000, seed=16):
    """95% interval of F1(rules OR model) - F1(rules), resampling conversations."""
    by_conv = defaultdict(list)
    for it in items:
        by_conv[it.conv].append(it)
    convs = sorted(by_conv)
    base = predictions(items, score, {c: 2.0 for c in CLASSES}, "rules")[cls]
    comb = predictions(items, score, thr, "or")[cls]
    rng = random.Random(seed)
    ds = []
    for _ in range(n):
        a = [0, 0, 0]
        b = [0, 0, 0]
        for cv in (rng.choice(convs) for _ in convs):
            for it in by_conv[cv]:
                t = it.label == cls
                for acc, pred in ((a, base), (b, comb)):
                    y = pred[it.id]
                    acc[0] += t and y
                    acc[1] += (not t) and y
                    acc[2] += t and not y
        ds.append(prf(*b)[2] - prf(*a)[2])
    ds.sort()
    return ds[int(0.025 * n)], ds[int(0.975 * n)]


def main():
    with tempfile.TemporaryDirectory(prefix="model16-") as tmp:
        run(tmp)


def run(tmp):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--deflectd", default="build/deflectd")
    ap.add_argument("--rules", default="rules")
    ap.add_argument("--corpus", default="../shared/corpus")
    ap.add_argument("--check", action="store_true", help="also score the check half (final figures only)")
    a = ap.parse_args()

    labels, posts = load(a.corpus)
    kinds = rule_kinds(a.deflectd, a.rules, a.corpus, set(labels))
    items = build_items(labels, posts, kinds)
    fit = [it for it in items if it.half == "fit"]
    check = [it for it in items if it.half == "check"]
    for name, s in (("fit", fit), ("check", check)):
        cust = [it for it in s if not it.brand]
        print("%s: %d follow-ups (%d customer); customer resolution %d, escalation %d" % (
            name, len(s), len(cust), sum(it.label == "resolution" for it in cust),
            sum(it.label == "escalation" for it in cust)))

    chosen, oof, thr = {}, {}, {}
    print("\n## Fit-half 5-fold CV (folds by conversation): average precision of the model alone, customer posts\n")
    print("| class | features | solver | C | AP |")
    print("|---|---|---|---|---|")
    for cls in CLASSES:
        best = None
        for fs, solver, c in GRID:
            o = cv_scores(fit, cls, fs, solver, c, tmp)
            apv = avg_precision([(o[it.id], it.label == cls) for it in fit if not it.brand])
            print("| %s | %s | %d | %g | %.3f |" % (cls, fs, solver, c, apv))
            if best is None or apv > best[0] + 1e-9:
                best = (apv, (fs, solver, c), o)
        chosen[cls] = best[1]
        oof[cls] = best[2]
        thr[cls] = pick_thresholds(fit, cls, oof[cls])
    print()
    for cls in CLASSES:
        print("- %s: chosen features %s, -s %d -c %g; thresholds %s" % (
            cls, *chosen[cls], {k: round(v, 4) for k, v in thr[cls].items()}))

    print("\n## Fit half: rules in-sample (they were read from it), model out-of-fold\n")
    print_rows(table_rows(fit, oof, thr, "fit CV"))

    if not a.check:
        print("\n(check half not scored; pass --check for the final figures)")
        return
    fitcust = [it for it in fit if not it.brand]
    checkcust = [it for it in check if not it.brand]
    score, summary = {}, {}
    for cls in CLASSES:
        summary[cls] = {}
        score[cls] = dict(zip((it.id for it in checkcust),
                              train_predict(fitcust, checkcust, cls, *chosen[cls], tmp, summary[cls])))
    print("\n## Check half (model trained on the whole fit half; thresholds from fit CV)\n")
    print_rows(table_rows(check, score, thr, "check"))
    print("\n### Check half, round-2 labels only (conversations no rule was read from before issue 16)\n")
    print_rows(table_rows([it for it in check if it.round == "r2"], score, thr, "check r2"))
    print("\n## Check half: F1(rules OR model) - F1(rules alone), all follow-ups, 95% bootstrap interval over conversations\n")
    for cls in CLASSES:
        for key in ("f1", "floor", "hp"):
            t = {c: thr[c][key] if c == cls else 2.0 for c in CLASSES}
            lo, hi = bootstrap_delta(check, score, t, cls)
            print("- %s, %s threshold: [%+.3f, %+.3f]" % (cls, key, lo, hi))
    print("\n## Final models (fit half)\n")
    for cls in CLASSES:
        s = summary[cls]
        print("- %s: vocabulary %d n-grams, %d non-zero weights, bias %.3f" % (cls, s["vocab"], s["nonzero"], s["bias"]))
        print("  - heaviest for: %s" % ", ".join(repr(f) for f in s["top_pos"]))
        print("  - heaviest against: %s" % ", ".join(repr(f) for f in s["top_neg"]))


if __name__ == "__main__":
    sys.exit(main())
