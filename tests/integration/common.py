"""Shared helpers for integration tests: they run the real deflectd binary."""
import json
import os
import subprocess
import tempfile

DEFLECTD = os.environ.get("DEFLECTD", "deflectd")
SRCDIR = os.environ.get("SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.environ.get("CORPUS", os.path.join(SRCDIR, "..", "shared", "corpus"))
DATA = os.path.join(SRCDIR, "tests", "data")


def run(*args, stdin=None, timeout=120, cwd=None):
    """Runs deflectd with args; returns (exit code, stdout, stderr) as text."""
    p = subprocess.run([DEFLECTD, *args], input=stdin, capture_output=True,
                       timeout=timeout, cwd=cwd, text=True)
    return p.returncode, p.stdout, p.stderr


def findings(stdout):
    """Parses replay's NDJSON output."""
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def post(id, text, at, author="cust", brand_flag=False, conv="c1", reply=None, **kw):
    """Builds one native post as a dict."""
    d = {"id": id, "platform": "twitter", "conversation_id": conv,
         "in_reply_to_id": reply, "author": author, "author_is_brand": brand_flag,
         "created_at": at, "text": text}
    d.update(kw)
    return d


def write_posts(dirname, posts, name="posts.ndjson"):
    """Writes posts (dicts or raw strings) as NDJSON; returns the path."""
    path = os.path.join(dirname, name)
    with open(path, "w", encoding="utf-8") as f:
        for p in posts:
            f.write((p if isinstance(p, str) else json.dumps(p)) + "\n")
    return path


def write_rules(dirname, text, name="10-test.rules"):
    """Writes one rule file into dirname/rules; returns the rules directory."""
    rdir = os.path.join(dirname, "rules")
    os.makedirs(rdir, exist_ok=True)
    with open(os.path.join(rdir, name), "w", encoding="utf-8") as f:
        f.write(text)
    return rdir


def tmpdir():
    return tempfile.TemporaryDirectory(prefix="deflectd-test-")
