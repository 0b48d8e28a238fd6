#!/usr/bin/env python3
"""Writes a rule set of N rules: the shipped rules, then variants of them for
the rule-count scaling benchmark. Variant k of a rule is renamed and each
of its patterns is prefixed with a word of its own ("brandk" within 40
characters before the original pattern), so, like most rules of a big pack
written for other brands and phrasings, it rarely matches, and the cost
measured is that of carrying many rules, not of many duplicates. Word list
sections ("[list NAME]") are written once, before the rules that use them.
usage: make_rules.py RULES_DIR OUT_DIR N"""
import os
import re
import sys


def sections(path):
    text = open(path, encoding="utf-8").read()
    return re.split(r"(?m)^(?=\[)", text)[1:]


def main():
    src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rules, lists = [], []
    for name in sorted(os.listdir(src)):
        if name.endswith(".rules"):
            for sec in sections(os.path.join(src, name)):
                (lists if sec.startswith("[list ") else rules).append(sec)
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.unlink(os.path.join(out, f))
    with open(os.path.join(out, "bench.rules"), "w", encoding="utf-8") as f:
        f.writelines(lists)
        for i in range(n):
            sec = rules[i % len(rules)]
            k = i // len(rules)
            if k:
                sec = re.sub(r"^\[(\w+) ([\w.-]+)\]", lambda m: f"[{m.group(1)} {m.group(2)}-v{k}]", sec)
                if True:
                    sec = re.sub(r"(?m)^(example|counter)\s*=.*\n", "", sec)
                    sec = re.sub(r"(?m)^(pattern\s*=\s*)(.*)$",
                                 lambda m: m.group(1) + rf"\bbrand{k}\b.{{0,40}}(?:" + m.group(2) + ")", sec)
            f.write(sec)


if __name__ == "__main__":
    main()
