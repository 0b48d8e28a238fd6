#!/usr/bin/env python3
"""Builds a benchmark recording of at least N posts from the corpus.

The corpus is put in time order and repeated; each repetition gets its own
ids and is shifted in time past the one before, so every post is new to the
tracker and the event clock only moves forward.
usage: make_input.py CORPUS_DIR OUT [N]
"""
import json
import sys
from datetime import datetime, timedelta, timezone


def main():
    corpus, out = sys.argv[1], sys.argv[2]
    want = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    posts = []
    for name in ("conversations.ndjson", "brand-replies.ndjson"):
        with open(f"{corpus}/{name}", encoding="utf-8") as f:
            posts.extend(json.loads(line) for line in f)
    posts.sort(key=lambda p: p["created_at"])
    first = datetime.fromisoformat(posts[0]["created_at"].replace("Z", "+00:00"))
    last = datetime.fromisoformat(posts[-1]["created_at"].replace("Z", "+00:00"))
    span = last - first + timedelta(days=30)
    n = 0
    with open(out, "w", encoding="utf-8") as f:
        rep = 0
        while n < want:
            shift = span * rep
            for p in posts:
                q = dict(p)
                for k in ("id", "conversation_id", "in_reply_to_id"):
                    if q.get(k) is not None:
                        q[k] = f"{rep}-{q[k]}"
                t = datetime.fromisoformat(p["created_at"].replace("Z", "+00:00")) + shift
                q["created_at"] = t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                f.write(json.dumps(q, ensure_ascii=False) + "\n")
                n += 1
            rep += 1
    print(f"{out}: {n} posts in {rep} repetitions", file=sys.stderr)


if __name__ == "__main__":
    main()
