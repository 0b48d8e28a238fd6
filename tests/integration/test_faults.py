"""Faults under the real daemon: the state database's disk fills while posts
are pushed. Every post answered 200 must end up as its case and its alert;
every post answered 503 must leave no trace (no case, no alert) until it is
sent again."""
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
import unittest

from common import DEFLECTD, Receiver, tmpdir
from daemon_harness import TOKEN, Daemon, iso, post

PAD = "x" * 1500  # posts big enough that a small disk fills in a few dozen requests


def conversation(req, n):
    conv = f"r{req}c{n}"
    cust = f"cust{req}x{n}"
    return [post(f"{conv}-q", f"my order is broken {PAD}", author=cust, conv=conv),
            post(f"{conv}-a", f"@{cust} sorry, DM us {PAD}", author="Acme", brand=True,
                 conv=conv, reply=f"{conv}-q")]


def request(req):
    """One push of 50 posts: 25 conversations, each a question and a deflection."""
    return [p for n in range(25) for p in conversation(req, n)]


def convs(posts):
    return {p["conversation_id"] for p in posts}


def push_slowly(d, posts, body=None):
    """A push that may take long (a large body, a sanitizer build)."""
    if body is None:
        body = "".join(json.dumps(p) + "\n" for p in posts).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{d.port}/v1/posts", data=body,
                                 method="POST")
    req.add_header("Authorization", "Bearer " + TOKEN)
    with urllib.request.urlopen(req, timeout=300) as r:
        return r.status, json.loads(r.read())


class SmallDisk:
    """The state directory on a tmpfs of a few MiB when we may mount (root);
    else the daemon's max_state_size. grow() frees the space again."""

    def __init__(self, state):
        self.state = state
        os.makedirs(state, exist_ok=True)
        self.mounted = False
        if os.geteuid() == 0 and not os.environ.get("DEFLECTD_TEST_NO_TMPFS"):
            r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", state],
                               capture_output=True)
            self.mounted = r.returncode == 0

    def extra(self):
        return "" if self.mounted else "max_state_size = 2M\n"

    def grow(self, d):
        if self.mounted:
            subprocess.run(["mount", "-o", "remount,size=256m", self.state], check=True)
        else:
            with open(d.conf) as f:
                text = f.read()
            with open(d.conf, "w") as f:
                f.write(text.replace("max_state_size = 2M", "max_state_size = 1G"))
            d.signal(signal.SIGHUP)
            d.wait_log(r"reloaded")

    def close(self):
        if self.mounted:
            subprocess.run(["umount", "-l", self.state], capture_output=True)


class DiskFull(unittest.TestCase):
    def setUp(self):
        self.t = tmpdir()
        self.rx = Receiver()
        self.disk = SmallDisk(os.path.join(self.t.name, "state"))

    def tearDown(self):
        self.rx.close()
        self.disk.close()
        self.t.cleanup()

    def test_disk_full_keeps_memory_and_store_in_step(self):
        window = 3
        d = Daemon(self.t.name, window=f"{window}s", extra=(
            self.disk.extra() +
            f"[webhook ops]\nurl = {self.rx.url}\nretry_base = 1s\nretry_max = 2s\n"
            "timeout = 2s\ntypes = deflection.unresolved\n")).start()
        try:
            acked, refused = [], []
            ready_while_failing = []
            req = 0
            # Push until the disk is full and a run of requests has been refused.
            while len(refused) < 8 and req < 400:
                posts = request(req)
                req += 1
                status, body = d.push(posts)
                if status == 200:
                    self.assertEqual(body["accepted"], 50, body)
                    acked.append(posts)
                else:
                    self.assertEqual(status, 503, body)
                    refused.append(posts)
                    ready_while_failing.append(d.get("/readyz")[0])
            self.assertGreaterEqual(len(refused), 8, "the disk never filled")
            self.assertGreater(len(acked), 0)
            # While writes fail the daemon says it is not ready (a probe may
            # succeed between two refused requests, so not every time).
            self.assertIn(503, ready_while_failing)
            # Deadlines of acknowledged cases pass while writes fail: they
            # fire once the disk has room, not lost and not twice.
            time.sleep(window + 1)
            status, text = d.get("/readyz")
            self.assertEqual(status, 503, text)
            self.assertIn("state database writes fail", text)
            # The reason is logged once per failing spell, not once per post.
            failures = [l for l in d.log if "writes fail" in l or "database or disk is full" in l]
            self.assertGreater(len(failures), 0)
            self.assertLess(len(failures), len(refused) * 50 // 10, "\n".join(failures))

            # Nothing from a refused request left a case, even once its
            # deadline has passed and the disk has room again.
            self.disk.grow(d)
            deadline = time.monotonic() + 30
            while d.get("/readyz")[0] != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertEqual(d.get("/readyz"), (200, "ready\n"))
            time.sleep(window + 2)
            refused_convs = set().union(*(convs(p) for p in refused))
            have = {r[0] for r in d.db("SELECT conversation_id FROM cases")}
            self.assertEqual(have & refused_convs, set(), "a refused post left a case")

            # Send what was refused again: now it is taken.
            for posts in refused:
                status, body = d.push(posts)
                self.assertEqual(status, 200, body)
                self.assertEqual(body["accepted"], 50, body)
                acked.append(posts)
            acked_convs = set().union(*(convs(p) for p in acked))

            # Every acknowledged conversation is an unresolved case with its
            # alert delivered, exactly one distinct alert per case.
            want = len(acked_convs)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                got = {json.loads(r["body"])["case"]["conversation_id"]
                       for r in self.rx.requests}
                if len(got) >= want:
                    break
                time.sleep(0.2)
            ids = {r["headers"]["webhook-id"] for r in self.rx.requests}
            got = {json.loads(r["body"])["case"]["conversation_id"] for r in self.rx.requests}
            self.assertEqual(got, acked_convs)
            self.assertEqual(len(ids), want)
            rows = d.db("SELECT conversation_id, state FROM cases")
            self.assertEqual({c for c, _ in rows}, acked_convs)
            self.assertEqual(len(rows), want)
            self.assertTrue(all(s == "unresolved" for _, s in rows))
            d.wait_db("SELECT count(*) FROM deliveries WHERE state = 'delivered'", [(want,)])
            self.assertEqual(d.db("PRAGMA integrity_check"), [("ok",)])
            print(f"disk full: {len(acked) - len(refused)} requests acknowledged first, "
                  f"{len(refused)} refused then re-sent; {want} cases, {len(ids)} alerts "
                  f"delivered ({len(self.rx.requests)} requests); "
                  f"{'tmpfs' if self.disk.mounted else 'max_state_size'}; "
                  f"{len(failures)} failure log lines")
        finally:
            d.stop()


def deflection(n):
    conv = f"c{n}"
    return [post(f"{conv}-q", "my order is broken", author=f"cust{n}", conv=conv),
            post(f"{conv}-a", f"@cust{n} sorry, DM us", author="Acme", brand=True, conv=conv,
                 reply=f"{conv}-q")]


class Retries(unittest.TestCase):
    def setUp(self):
        self.t = tmpdir()
        self.rx = Receiver()

    def tearDown(self):
        self.rx.close()
        self.t.cleanup()

    def daemon(self, hook):
        return Daemon(self.t.name, window="1s", extra=(
            f"[webhook ops]\nurl = {self.rx.url}\ntimeout = 2s\n{hook}")).start()

    def test_429_retry_after_0_still_backs_off(self):
        self.rx.script = [(429, {"Retry-After": "0"})] * 4
        d = self.daemon("retry_base = 1s\nretry_max = 2s\n")
        try:
            d.push(deflection(1))
            reqs = self.rx.wait(5, timeout=30)
            d.wait_db("SELECT state, attempts FROM deliveries", [("delivered", 5)])
        finally:
            d.stop()
        gaps = [b["at"] - a["at"] for a, b in zip(reqs, reqs[1:])]
        self.assertEqual(len(self.rx.requests), 5)
        self.assertTrue(all(g >= 0.4 for g in gaps), gaps)

    def test_jittered_delay_never_exceeds_retry_max(self):
        # 40 alerts fail once each; every retry delay is drawn with jitter
        # from 2 to 6 s and must then be capped at retry_max (4 s).
        self.rx.default = 500
        d = self.daemon("retry_base = 4s\nretry_max = 4s\nconcurrency = 64\n")
        try:
            d.push([p for n in range(40) for p in deflection(n)])
            d.wait_db("SELECT count(*) FROM deliveries WHERE attempts >= 1", [(40,)],
                      timeout=30)
            delays = [r[0] for r in d.db("SELECT next_at - updated_at FROM deliveries "
                                         "WHERE attempts = 1")]
        finally:
            d.stop()
        self.assertGreaterEqual(len(delays), 30)
        self.assertLessEqual(max(delays), 4, delays)
        self.assertGreaterEqual(min(delays), 2, delays)


class Startup(unittest.TestCase):
    def setUp(self):
        self.t = tmpdir()

    def tearDown(self):
        self.t.cleanup()

    def exits(self, d):
        d.start(expect_ready=False)
        self.assertEqual(d.proc.wait(timeout=10), 1)
        d.log_thread.join(timeout=5)
        return "\n".join(d.log)

    def test_state_dir_that_is_a_file_is_named_as_such(self):
        d = Daemon(self.t.name)
        with open(d.state, "w") as f:
            f.write("not a directory\n")
        log = self.exits(d)
        self.assertIn(f"state_dir {d.state} is not a directory (it is a file)", log)
        self.assertNotIn("No such file or directory", log)

    def test_empty_state_file_is_reported(self):
        d = Daemon(self.t.name)
        os.makedirs(d.state)
        open(os.path.join(d.state, "deflectd.db"), "w").close()
        d.start()
        d.stop()
        self.assertTrue(any("deflectd.db is empty (0 bytes): starting with empty state" in l
                            for l in d.log), d.log)
        # A database it made itself is not empty the next time.
        d.start()
        d.stop()
        self.assertFalse(any("is empty" in l for l in d.log), d.log)

    def test_second_daemon_on_the_same_state_is_refused(self):
        first = Daemon(self.t.name).start()
        try:
            other = os.path.join(self.t.name, "other")
            os.makedirs(other)
            os.symlink(first.state, os.path.join(other, "state"))
            second = Daemon(other)
            log = self.exits(second)
            self.assertIn(f"another deflectd (pid {first.proc.pid}) is running on this state "
                          "directory; not starting", log)
            # The first one is untouched.
            self.assertEqual(first.get("/readyz"), (200, "ready\n"))
        finally:
            first.stop()


class Input(unittest.TestCase):
    def setUp(self):
        self.t = tmpdir()

    def tearDown(self):
        self.t.cleanup()

    def test_post_from_the_future_is_refused(self):
        d = Daemon(self.t.name).start()  # clock_skew defaults to 1h
        try:
            far = post("f1", "hello", at="9999-12-31T23:59:59Z")
            near = post("f2", "hello", at=iso(1800))
            status, body = d.push([near, far])
            self.assertEqual(status, 400, body)
            self.assertEqual((body["accepted"], body["rejected"]), (1, 1), body)
            self.assertEqual(body["errors"][0]["line"], 2)
            self.assertIn("created_at 9999-12-31T23:59:59Z is more than clock_skew (3600s) "
                          "ahead of the clock", body["errors"][0]["error"])
            _, metrics = d.get("/metrics")
            self.assertIn('deflectd_future_posts_total{source="push"} 1\n', metrics)
            self.assertEqual(d.db("SELECT id FROM posts"), [("f2",)])
        finally:
            d.stop()

    def test_slow_client_is_closed_at_the_request_deadline(self):
        d = Daemon(self.t.name, extra="admin_request_timeout = 2s\n").start()
        try:
            slow = socket.create_connection(("127.0.0.1", d.port))
            slow.settimeout(0.1)
            slow.sendall(b"POST /v1/posts HTTP/1.1\r\nHost: x\r\n")
            started, closed = time.monotonic(), None
            # One header byte every 0.3 s: never idle long enough for an idle timeout.
            while time.monotonic() - started < 8:
                try:
                    slow.sendall(b"X")
                    if slow.recv(4096) == b"":
                        closed = time.monotonic() - started
                        break
                except socket.timeout:
                    pass
                except OSError:
                    closed = time.monotonic() - started
                    break
                time.sleep(0.3)
            slow.close()
            self.assertIsNotNone(closed, "the slow client was never closed")
            self.assertGreaterEqual(closed, 1.5)
            self.assertLess(closed, 5)
            # Others are served all along, and a quick request is never cut.
            self.assertEqual(d.get("/healthz"), (200, "ok\n"))
            self.assertEqual(d.push([post("q1", "hello")])[0], 200)
        finally:
            d.stop()

    def test_large_push_leaves_the_loop_free(self):
        d = Daemon(self.t.name).start()
        try:
            at = iso()
            pad = "y" * 200
            lines = [json.dumps({"id": f"big{i}", "platform": "twitter", "author": f"u{i % 997}",
                                 "conversation_id": f"k{i // 4}", "created_at": at,
                                 "text": f"hello number {i} {pad}"})
                     for i in range(180000)]
            body = ("\n".join(lines) + "\n").encode()
            self.assertGreater(len(body), 48 << 20)
            result = {}

            def send():
                result["status"], result["body"] = push_slowly(d, None, body)
            t = threading.Thread(target=send)
            t.start()
            # /healthz is answered all along, and a small push in the meantime
            # waits its turn and is kept too.
            worst, small = 0.0, None
            while t.is_alive():
                t0 = time.monotonic()
                self.assertEqual(d.get("/healthz"), (200, "ok\n"))
                worst = max(worst, time.monotonic() - t0)
                if small is None:
                    small = d.push([post("small1", "hello")])
                time.sleep(0.02)
            t.join()
            self.assertEqual(result["status"], 200, result)
            self.assertEqual(result["body"]["accepted"], 180000)
            self.assertEqual(small[0], 200, small)
            self.assertEqual(d.db("SELECT count(*) FROM posts"), [(180001,)])
            print(f"large push: {len(body) >> 20} MiB, slowest /healthz {worst * 1000:.0f} ms")
            self.assertLess(worst, 1.0)
        finally:
            d.stop()

    def test_backlog_is_tracked_in_slices(self):
        # Posts wait lateness in the reorder buffer; when a large push comes due
        # all at once, the tick tracks it a few thousand posts per turn of the loop.
        d = Daemon(self.t.name, lateness="8s").start()
        worst, stop = [0.0], threading.Event()

        def watch():
            while not stop.is_set():
                t0 = time.monotonic()
                self.assertEqual(d.get("/healthz"), (200, "ok\n"))
                worst[0] = max(worst[0], time.monotonic() - t0)
                time.sleep(0.01)
        w = threading.Thread(target=watch)
        try:
            at = iso()
            n = 90000
            for part in range(3):
                posts = [{"id": f"b{part}-{i}", "platform": "twitter", "author": f"u{i % 97}",
                          "conversation_id": f"k{part}-{i // 4}", "created_at": at,
                          "text": f"hello number {i} " + "z" * 200} for i in range(n // 3)]
                self.assertEqual(push_slowly(d, posts)[0], 200)
            w.start()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if d.db("SELECT count(*) FROM posts WHERE json IS NOT NULL") == [(0,)]:
                    break
                time.sleep(0.1)
            stop.set()
            w.join()
            self.assertEqual(d.db("SELECT count(*) FROM posts WHERE json IS NOT NULL"), [(0,)])
            _, metrics = d.get("/metrics")
            self.assertIn(f"deflectd_posts_tracked_total {n}\n", metrics)
            print(f"backlog of {n} posts: slowest /healthz {worst[0] * 1000:.0f} ms")
            self.assertLess(worst[0], 1.0)
        finally:
            stop.set()
            d.stop()

    def test_deliveries_during_a_sliced_push_are_recorded(self):
        # Webhook outcomes that come back while a large push holds its
        # transaction join it; nothing is lost and nothing is sent early.
        rx = Receiver()
        d = Daemon(self.t.name, window="1s", extra=(
            f"[webhook ops]\nurl = {rx.url}\nretry_base = 1s\nretry_max = 1s\n"
            "concurrency = 64\ntypes = deflection.unresolved\n")).start()
        try:
            self.assertEqual(d.push([p for n in range(30) for p in deflection(n)])[0], 200)
            time.sleep(1.2)
            at = iso()
            big = [{"id": f"s{i}", "platform": "twitter", "author": f"u{i % 97}",
                    "conversation_id": f"s{i // 4}", "created_at": at,
                    "text": "hello " + "w" * 200} for i in range(20000)]
            status, body = push_slowly(d, big)
            self.assertEqual((status, body["accepted"]), (200, 20000), body)
            d.wait_db("SELECT state, count(*) FROM deliveries GROUP BY state",
                      [("delivered", 30)], timeout=30)
            ids = [r["headers"]["webhook-id"] for r in rx.requests]
            self.assertEqual(len(set(ids)), 30)
            self.assertFalse([l for l in d.log if "transaction" in l], d.log)
        finally:
            d.stop()
            rx.close()


class Lists(unittest.TestCase):
    def test_alerts_list_is_bounded(self):
        with tmpdir() as t:
            rx = Receiver()
            rx.default = 500
            d = Daemon(t, window="1s", extra=(
                f"[webhook ops]\nurl = {rx.url}\nretry_base = 1h\nretry_max = 1h\n"))
            try:
                d.start()
                d.push([p for n in range(5) for p in deflection(n)])
                d.wait_db("SELECT count(*) FROM deliveries", [(5,)])
            finally:
                d.stop()
                rx.close()
            run = lambda *a: subprocess.run([DEFLECTD, "alerts", "-c", d.conf, "list", *a],
                                            capture_output=True, text=True)
            p = run("--limit", "2")
            self.assertEqual(p.returncode, 0, p.stderr)
            rows = p.stdout.splitlines()[1:]
            self.assertEqual(len(rows), 2, p.stdout)
            newest = d.db("SELECT d.alert_id FROM deliveries d JOIN outbox o ON o.id = "
                          "d.alert_id ORDER BY o.created_at DESC, d.alert_id DESC LIMIT 2")
            self.assertEqual([r.split("\t")[0] for r in rows], [a for (a,) in newest])
            self.assertIn("the newest 2 shown; --limit N shows more", p.stderr)
            p = run()
            self.assertEqual(len(p.stdout.splitlines()), 6)
            self.assertEqual(p.stderr, "")
            self.assertEqual(run("--limit", "0").returncode, 2)


class RuleFiles(unittest.TestCase):
    def test_binary_rule_file_bytes_are_escaped_in_errors(self):
        with tmpdir() as t:
            rules = os.path.join(t, "rules")
            os.makedirs(rules)
            with open(os.path.join(rules, "10-bin.rules"), "wb") as f:
                f.write(b"\x89PNG\r\n\x1a\n\x1b[2J\xff\xfe\xc2\x85 caf\xc3\xa9 = 1\n"
                        b"[deflection a]\npattern = x\x07\xc0y\nexample = x\n")
            p = subprocess.run([DEFLECTD, "check", "--rules", rules], capture_output=True)
            self.assertEqual(p.returncode, 1)
            err = p.stderr.decode("utf-8")  # strict: raw invalid bytes would raise
            self.assertFalse([c for c in err if ord(c) < 0x20 and c != "\n"
                              or 0x7f <= ord(c) <= 0x9f], err)
            self.assertIn("\\x1b[2J\\xff\\xfe\\xc2\\x85 caf\u00e9", err)


if __name__ == "__main__":
    unittest.main()
