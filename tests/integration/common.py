"""Shared helpers for integration tests: they run the real deflectd binary."""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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


def write_rules(dirname, text, name="10-test.rules", sub="rules"):
    """Writes one rule file into dirname/sub; returns the rules directory."""
    rdir = os.path.join(dirname, sub)
    os.makedirs(rdir, exist_ok=True)
    with open(os.path.join(rdir, name), "w", encoding="utf-8") as f:
        f.write(text)
    return rdir


def tmpdir():
    return tempfile.TemporaryDirectory(prefix="deflectd-test-")


class JSONHandler(BaseHTTPRequestHandler):
    """The local platform servers' handler base: JSON answers, no request log."""

    def reply(self, code, doc, headers=()):
        body = json.dumps(doc).encode()
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Receiver:
    """An HTTP server answering from a script of responses, recording requests."""

    def __init__(self):
        self.requests = []
        self.script = []  # each: status int, ("hang", seconds), (status, {headers})
        self.default = 200
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                rec.requests.append({"at": time.monotonic(), "path": self.path,
                                     "headers": {k.lower(): v for k, v in self.headers.items()},
                                     "body": body.decode()})
                step = rec.script.pop(0) if rec.script else rec.default
                headers = {}
                if isinstance(step, tuple) and step[0] == "hang":
                    time.sleep(step[1])
                    step = 200
                elif isinstance(step, tuple):
                    step, headers = step
                self.send_response(step)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, n, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.requests) < n:
            time.sleep(0.05)
        if len(self.requests) < n:
            raise AssertionError(f"{len(self.requests)} requests, wanted {n}")
        return self.requests

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def signature_ok(secret, headers, body):
    """Checks a Standard Webhooks signature the way the spec defines it: any
    "v1,<base64>" in webhook-signature is HMAC-SHA256, keyed with the base64
    after "whsec_", of "webhook-id.webhook-timestamp.body"."""
    key = base64.b64decode(secret[len("whsec_"):])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode()
    want = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(sig, "v1," + want)
               for sig in headers.get("webhook-signature", "").split())
