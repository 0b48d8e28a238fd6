#!/usr/bin/env python3
"""Side by side with SEC (Simple Event Correlator): the same regexes over the
same input. Every `pattern` of the given rules becomes a SEC Single rule
(Perl regex, caseless) whose action does nothing; the input is the text of
N posts, one per line. deflectd runs `test-rules --format ndjson` over the
same posts with the same rules (normalizing and matching every post). A
{NAME} word list use is expanded to (?:item|item|...) as deflectd does.
usage: sec_compare.py DEFLECTD RULES_DIR POSTS.ndjson WORKDIR [N]"""
import json
import os
import re
import subprocess
import sys
import time


def main():
    deflectd, rules_dir, posts, work = sys.argv[1:5]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 200000
    os.makedirs(work, exist_ok=True)
    # The same posts for both: SEC reads text lines, deflectd reads NDJSON.
    texts, sample = [], os.path.join(work, "posts.ndjson")
    with open(posts, encoding="utf-8") as f, open(sample, "w", encoding="utf-8") as out:
        for line in f:
            if len(texts) == n:
                break
            p = json.loads(line)
            texts.append(" ".join(p["text"].split()))
            out.write(line)
    lines = os.path.join(work, "texts.txt")
    with open(lines, "w", encoding="utf-8") as f:
        f.write("\n".join(texts) + "\n")
    patterns, lists, cur = [], {}, None
    expand = lambda pat: re.sub(r"\{([A-Za-z][\w-]*)\}",
                                lambda m: "(?:" + "|".join(lists[m.group(1)]) + ")"
                                if m.group(1) in lists else m.group(0), pat)
    for name in sorted(os.listdir(rules_dir)):
        if name.endswith(".rules"):
            for line in open(os.path.join(rules_dir, name), encoding="utf-8"):
                line = line.strip()
                if line.startswith("["):
                    cur = line[6:-1].strip() if line.startswith("[list ") else None
                    if cur:
                        lists[cur] = []
                m = re.match(r"^(pattern|item)\s*=\s*(.*)$", line)
                if m and m.group(1) == "item" and cur:
                    lists[cur].append(expand(m.group(2)))
                elif m and m.group(1) == "pattern":
                    patterns.append(expand(m.group(2)))
    conf = os.path.join(work, "sec.conf")
    with open(conf, "w", encoding="utf-8") as f:
        for i, pat in enumerate(patterns):
            f.write(f"type=Single\nptype=RegExp\npattern=(?i){pat}\ncontinue=TakeNext\n"
                    f"desc=rule {i}\naction=none\n\n")
    t0 = time.monotonic()
    subprocess.run(["sec", "--conf=" + conf, "--input=" + lines, "--notail", "--fromstart",
                    "--nointevents", "--log=/dev/null"], check=True)
    sec_s = time.monotonic() - t0
    t0 = time.monotonic()
    subprocess.run([deflectd, "test-rules", "--rules", rules_dir, "--format", "ndjson", sample],
                   check=True, stdout=subprocess.DEVNULL)
    d_s = time.monotonic() - t0
    print(f"{len(patterns)} patterns over {len(texts)} posts")
    print(f"SEC 2.9 (Perl regexes, every pattern on every line): {sec_s:7.2f} s "
          f"{len(texts) / sec_s:10.0f} posts/s")
    print(f"deflectd test-rules (normalize + prefilter + PCRE2 JIT): {d_s:7.2f} s "
          f"{len(texts) / d_s:10.0f} posts/s")
    print(f"ratio: deflectd is {sec_s / d_s:.1f}x faster")


if __name__ == "__main__":
    main()
