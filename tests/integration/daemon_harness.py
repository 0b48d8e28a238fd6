"""Starts the real deflectd daemon for tests: its own config, state directory,
rules, a bearer token, and a datagram socket standing in for systemd's
$NOTIFY_SOCKET."""
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

from common import DEFLECTD

TOKEN = "test-token-0123456789"

RULES = """
[deflection dm]
pattern = \\bdm\\s+us\\b
tags = dm
example = please DM us
[resolution fixed]
by = any
pattern = \\b(fixed|sorted)\\b
unless = \\bnot\\b
example = all sorted
[escalation still]
pattern = \\bstill\\s+(waiting|broken)\\b
example = still waiting
"""


def iso(delta=0.0):
    """RFC 3339 time, delta seconds from now."""
    t = datetime.now(timezone.utc) + timedelta(seconds=delta)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def post(id, text, author="ann", brand=False, conv="c1", reply=None, at=None):
    return {"id": id, "platform": "twitter", "conversation_id": conv,
            "in_reply_to_id": reply, "author": author, "author_is_brand": brand,
            "created_at": at or iso(), "text": text}


class Daemon:
    def __init__(self, tmp, window="1h", lateness="0s", extra="", rules=RULES, env=None):
        self.tmp = tmp
        self.state = os.path.join(tmp, "state")
        self.rules = os.path.join(tmp, "rules")
        os.makedirs(self.rules, exist_ok=True)
        with open(os.path.join(self.rules, "10-test.rules"), "w") as f:
            f.write(rules)
        with open(os.path.join(tmp, "token"), "w") as f:
            f.write(TOKEN + "\n")
        self.conf = os.path.join(tmp, "deflectd.conf")
        with open(self.conf, "w") as f:
            f.write(f"[daemon]\nstate_dir = state\nrules_dir = rules\nwindow = {window}\n"
                    f"lateness = {lateness}\nadmin_listen = 127.0.0.1:0\n"
                    f"admin_token_file = token\n{extra}")
        self.env = env or {}
        self.proc = None
        self.port = None
        self.log = []
        self.notes = []
        self.sock = None

    # systemd's side of sd_notify: a datagram socket we read.
    def _notify_socket(self):
        path = os.path.join(self.tmp, "notify.sock")
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)

        def reader(sock=self.sock):
            while True:
                try:
                    data = sock.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    return
                self.notes.append(data.decode())
        threading.Thread(target=reader, daemon=True).start()
        return path

    def start(self, expect_ready=True):
        env = dict(os.environ)
        env["NOTIFY_SOCKET"] = self._notify_socket()
        env.update(self.env)
        self.log = []
        self.proc = subprocess.Popen([DEFLECTD, "-c", self.conf], stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, text=True, env=env)

        def reader(proc=self.proc):
            for line in proc.stderr:
                self.log.append(line.rstrip("\n"))
            proc.stderr.close()
        self.log_thread = threading.Thread(target=reader, daemon=True)
        self.log_thread.start()
        if expect_ready:
            m = self.wait_log(r"admin listening on 127\.0\.0\.1 port (\d+)")
            self.port = int(m.group(1))
            self.wait_note("READY=1")
        return self

    def wait_log(self, pattern, timeout=10, start=0):
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            for line in self.log[start:]:
                m = rx.search(line)
                if m:
                    return m
            if self.proc.poll() is not None and not self.log_pending():
                break
            time.sleep(0.02)
        raise AssertionError(f"no log line /{pattern}/ in:\n" + "\n".join(self.log))

    def log_pending(self):
        return False

    def wait_note(self, text, timeout=10, start=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in n for n in self.notes[start:]):
                return
            time.sleep(0.02)
        raise AssertionError(f"no notification {text!r} in {self.notes}")

    def push(self, posts, token=TOKEN, raw=None):
        body = raw if raw is not None else "".join(json.dumps(p) + "\n" for p in posts)
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/v1/posts",
                                     data=body.encode(), method="POST")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        if self.proc:
            self.log_thread.join(timeout=5)
        if self.sock:
            self.sock.close()
            self.sock = None

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.log_thread.join(timeout=5)
        if self.sock:
            self.sock.close()
            self.sock = None

    def db(self, query, args=()):
        con = sqlite3.connect(os.path.join(self.state, "deflectd.db"), timeout=10)
        try:
            return con.execute(query, args).fetchall()
        finally:
            con.close()

    def wait_db(self, query, want, timeout=10):
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            got = self.db(query)
            if got == want:
                return
            time.sleep(0.05)
        raise AssertionError(f"{query}: {got} != {want}\n" + "\n".join(self.log))

    def write_rules(self, text, name="10-test.rules"):
        with open(os.path.join(self.rules, name), "w") as f:
            f.write(text)

    def remove_rules(self, name):
        os.unlink(os.path.join(self.rules, name))


def cleanup(tmp):
    shutil.rmtree(tmp, ignore_errors=True)
