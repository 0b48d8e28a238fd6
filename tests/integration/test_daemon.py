"""The real daemon: push over HTTP, SQLite state, reload, crashes, sd_notify, files."""
import os
import signal
import sqlite3
import subprocess
import threading
import time
import unittest

from common import DEFLECTD, tmpdir
from daemon_harness import TOKEN, Daemon, iso, post


def deflect(n, conv=None, at=None):
    """A customer complaint and a brand's DM ask in conversation conv."""
    conv = conv or f"c{n}"
    return [post(f"{conv}-q", "my order is broken", author=f"cust{n}", conv=conv, at=at),
            post(f"{conv}-a", f"@cust{n} sorry, DM us", author="Acme", brand=True, conv=conv,
                 reply=f"{conv}-q", at=at)]


class Push(unittest.TestCase):
    def setUp(self):
        self.t = tmpdir()
        self.d = Daemon(self.t.name).start()

    def tearDown(self):
        self.d.stop()
        self.t.cleanup()

    def test_push_opens_cases_in_the_database(self):
        code, body = self.d.push(deflect(1) + deflect(2))
        self.assertEqual((code, body["accepted"], body["rejected"]), (200, 4, 0), body)
        # Acknowledged means stored: the posts are in the database already.
        self.assertEqual(self.d.db("SELECT count(*) FROM posts"), [(4,)])
        self.d.wait_db("SELECT conversation_id, customer, state FROM cases ORDER BY 1",
                       [("c1", "cust1", "deflected"), ("c2", "cust2", "deflected")])
        self.d.wait_log(r"finding deflection brand=Acme conversation=c1 customer=cust1 rule=dm")
        # Delivered twice, counted once.
        code, body = self.d.push(deflect(1))
        self.assertEqual((code, body["accepted"], body["duplicates"]), (200, 0, 2))

    def test_old_posts_sent_twice_count_once(self):
        old = [post("o1", "my order is broken", author="ann", conv="o", at="2017-03-01T10:00:00Z"),
               post("o2", "@ann sorry, DM us", author="Acme", brand=True, conv="o", reply="o1",
                    at="2017-03-01T10:05:00Z")]
        code, body = self.d.push(old)
        self.assertEqual((code, body["accepted"]), (200, 2))
        self.d.wait_log(r"finding unresolved brand=Acme conversation=o ")
        # Posts older than the retention are still remembered by when they came,
        # across the once-a-second pruning.
        time.sleep(1.5)
        code, body = self.d.push(old)
        self.assertEqual((code, body["accepted"], body["duplicates"]), (200, 0, 2))
        self.assertEqual(len([l for l in self.d.log if "finding deflection" in l]), 1)

    def test_push_auth_and_bad_lines(self):
        code, body = self.d.push(deflect(1), token=None)
        self.assertEqual(code, 401)
        code, body = self.d.push(deflect(1), token="wrong")
        self.assertEqual(code, 401)
        self.assertEqual(self.d.db("SELECT count(*) FROM posts"), [(0,)])
        good = '{"id":"g1","author":"a","created_at":"%s","text":"hi"}' % iso()
        raw = good + "\nnot json\n\n" + '{"id":"x","author":"a","text":"no time"}\n'
        code, body = self.d.push(None, raw=raw)
        self.assertEqual(code, 400)
        self.assertEqual(body["accepted"], 1)
        self.assertEqual([e["line"] for e in body["errors"]], [2, 4])
        self.assertIn("not JSON", body["errors"][0]["error"])
        self.assertEqual(body["errors"][1]["error"], 'missing field "created_at"')
        # The good line is kept; the bad ones are not.
        self.assertEqual(self.d.db("SELECT id FROM posts"), [("g1",)])
        self.assertEqual(self.d.get("/healthz"), (200, "ok\n"))


class Secrets(unittest.TestCase):
    def test_token_from_credentials_directory_is_never_logged(self):
        with tmpdir() as t:
            creds = os.path.join(t, "creds")
            os.makedirs(creds)
            with open(os.path.join(creds, "token"), "w") as f:
                f.write("from-systemd-credential\n")
            d = Daemon(t, env={"CREDENTIALS_DIRECTORY": creds})
            os.unlink(os.path.join(t, "token"))
            d.start()
            self.assertEqual(d.push(deflect(1), token=TOKEN)[0], 401)
            code, body = d.push(deflect(1), token="from-systemd-credential")
            self.assertEqual((code, body["accepted"]), (200, 2))
            d.stop()
            self.assertFalse(any("from-systemd-credential" in l for l in d.log))


class Notify(unittest.TestCase):
    def test_ready_reloading_stopping_watchdog(self):
        with tmpdir() as t:
            d = Daemon(t, env={"WATCHDOG_USEC": "400000"}).start()
            d.wait_note("WATCHDOG=1", timeout=3)
            n = len(d.notes)
            d.signal(signal.SIGHUP)
            d.wait_note("RELOADING=1", start=n)
            reloading = [x for x in d.notes[n:] if "RELOADING=1" in x][0]
            self.assertRegex(reloading, r"MONOTONIC_USEC=\d+")
            d.wait_note("READY=1", start=n + 1)
            d.signal(signal.SIGTERM)
            d.wait_note("STOPPING=1")
            self.assertEqual(d.proc.wait(timeout=10), 0)
            d.stop()


class Reload(unittest.TestCase):
    def test_broken_rules_are_rejected_and_fixed_ones_go_live(self):
        with tmpdir() as t:
            d = Daemon(t).start()
            d.push(deflect(1))
            d.wait_db("SELECT count(*) FROM cases", [(1,)])
            # A broken file: every error logged, the old rules keep running.
            d.write_rules("[deflection callus]\npattern = \\bcall\\s+us(\nexample = call us\n",
                          "20-new.rules")
            n = len(d.log)
            d.signal(signal.SIGHUP)
            d.wait_log(r"rules/20-new\.rules:2:\d+: pattern error at offset \d+: missing "
                       r"closing parenthesis", start=n)
            d.wait_log(r"reload failed; still running the previous", start=n)
            self.assertEqual(d.get("/healthz")[0], 200)
            d.push([post("k1", "help", author="kim", conv="k"),
                    post("k2", "@kim please call us", author="Acme", brand=True, conv="k",
                         reply="k1")])
            d.push(deflect(3))
            d.wait_db("SELECT count(*) FROM cases", [(2,)])
            # Fixed: the new rule is live, and the open cases are still there.
            d.write_rules("[deflection callus]\npattern = \\bcall\\s+us\\b\nexample = call us\n",
                          "20-new.rules")
            n = len(d.log)
            d.signal(signal.SIGHUP)
            d.wait_log(r"reloaded: 4 rules", start=n)
            d.push([post("m1", "help", author="max", conv="m"),
                    post("m2", "@max please call us", author="Acme", brand=True, conv="m",
                         reply="m1")])
            d.wait_db("SELECT conversation_id FROM cases ORDER BY 1", [("c1",), ("c3",), ("m",)])
            d.stop()


class Crash(unittest.TestCase):
    def test_kill9_mid_burst_keeps_every_acknowledged_post(self):
        with tmpdir() as t:
            d = Daemon(t).start()
            acked, stop = [], threading.Event()

            def burst():
                for i in range(2000):
                    if stop.is_set():
                        return
                    batch = deflect(i)
                    try:
                        code, _ = d.push(batch)
                    except Exception:
                        return
                    if code == 200:
                        acked.append(i)
            th = threading.Thread(target=burst)
            th.start()
            while len(acked) < 40:
                time.sleep(0.01)
            d.kill9()
            stop.set()
            th.join()
            d.start()
            ids = {r[0] for r in d.db("SELECT id FROM posts")}
            convs = {r[0] for r in d.db("SELECT conversation_id FROM cases")}
            for i in acked:
                self.assertIn(f"c{i}-q", ids)
                self.assertIn(f"c{i}-a", ids)
                self.assertIn(f"c{i}", convs)
            d.stop()

    def test_deadline_passed_while_down_fires_once(self):
        with tmpdir() as t:
            d = Daemon(t, window="2s").start()
            d.push(deflect(1) + deflect(2))
            d.wait_db("SELECT count(*) FROM cases WHERE state = 'deflected'", [(2,)])
            d.kill9()
            time.sleep(3.5)
            d.start()
            d.wait_db("SELECT count(*) FROM cases WHERE state = 'unresolved'", [(2,)])
            self.assertEqual(d.db("SELECT count(*) FROM outbox WHERE type = "
                                  "'deflection.unresolved'"), [(2,)])
            d.stop()
            d.start()
            time.sleep(1.5)
            self.assertEqual(d.db("SELECT count(*) FROM outbox WHERE type = "
                                  "'deflection.unresolved'"), [(2,)])
            self.assertEqual(len([l for l in d.log if "finding unresolved" in l]), 0)
            d.stop()


class FileSource(unittest.TestCase):
    def test_follows_rotation_and_resumes_after_restart(self):
        import json
        with tmpdir() as t:
            path = os.path.join(t, "in.ndjson")
            d = Daemon(t, extra="[source rec]\ntype = file\npath = in.ndjson\n").start()

            def append(p, posts):
                with open(p, "a") as f:
                    for x in posts:
                        f.write(json.dumps(x) + "\n")
            append(path, deflect(1))
            d.wait_db("SELECT count(*) FROM posts", [(2,)])
            # A partial line is not taken until it is complete.
            with open(path, "a") as f:
                f.write('{"id":"part","author":"a","created_at":"%s",' % iso())
            time.sleep(0.6)
            self.assertEqual(d.db("SELECT count(*) FROM posts"), [(2,)])
            with open(path, "a") as f:
                f.write('"text":"done"}\nnot json\n')
            d.wait_db("SELECT count(*) FROM posts", [(3,)])
            d.wait_log(r"in\.ndjson:4: not JSON")
            # Rotation: the old file is renamed, a new one starts.
            os.rename(path, path + ".1")
            append(path, deflect(2))
            d.wait_db("SELECT count(*) FROM posts", [(5,)])
            d.wait_db("SELECT count(*) FROM cases", [(2,)])
            d.stop()
            # Restart: resume at the saved offset; nothing is read twice.
            append(path, deflect(3))
            d.start()
            d.wait_log(r"source rec: .*in\.ndjson from offset \d+ \(line 2\)")
            d.wait_db("SELECT count(*) FROM posts", [(7,)])
            d.wait_db("SELECT count(*) FROM cases", [(3,)])
            self.assertFalse(any("duplicate" in l for l in d.log))
            d.stop()


class BadStartup(unittest.TestCase):
    def run_daemon(self, conf):
        p = subprocess.run([DEFLECTD, "-c", conf], capture_output=True, text=True, timeout=20)
        return p.returncode, p.stderr

    def test_bad_config_values(self):
        with tmpdir() as t:
            conf = os.path.join(t, "bad.conf")
            with open(conf, "w") as f:
                f.write("[daemon]\nwindow = 3 days\nlateness = -1m\n[sorce x]\n")
            rc, err = self.run_daemon(conf)
            self.assertEqual(rc, 1)
            self.assertIn(conf + ":2:10: window must be a duration", err)
            self.assertIn(conf + ":3:12: lateness must be a duration", err)
            self.assertIn(conf + ":4:2: unknown section [sorce x]", err)
            self.assertIn("configuration has errors; not starting", err)

    def test_source_keys_checked_by_check_and_at_start(self):
        """What would stop the daemon at start is what check -c reports, with
        the line: keys a source type does not read, bad durations, numbers
        and streams, and unreadable tokens; the daemon refuses the same
        config cleanly, without a crash."""
        with tmpdir() as t:
            conf = os.path.join(t, "src.conf")
            with open(conf, "w") as f:
                f.write("[daemon]\nstate_dir = state\nrules_dir = rules\n"
                        "admin_listen = 127.0.0.1:0\n"
                        "[source x1]\ntype = x\nbackoff_base = 5s\nbackoff_scale = 5\n"
                        "[source b1]\ntype = bluesky\npoll_interval = 60\n"
                        "[source m1]\ntype = mastodon\nurl = https://m.example\n"
                        "token_file = nosuch.token\nstream = user public\nstall_timeout = 0s\n"
                        "[source f1]\ntype = file\npath = /dev/null\nurl = http://x\n")
            os.makedirs(os.path.join(t, "rules"))
            with open(os.path.join(t, "rules", "10.rules"), "w") as f:
                f.write("[deflection dm]\npattern = \\bdm\\s+us\\b\n")
            want = [":7:1: [source x1]: key \"backoff_base\" does not apply to type x",
                    ":8:1: [source x1]: backoff_scale \"5\" is not a number above 0",
                    ":11:1: [source b1]: poll_interval \"60\" is not a duration",
                    ":16:1: [source m1]: stream \"user public\" is not one of",
                    ":17:1: [source m1]: stall_timeout \"0s\" is not a duration",
                    ":21:1: [source f1]: key \"url\" does not apply to type file"]
            p = subprocess.run([DEFLECTD, "check", "-c", conf], capture_output=True,
                               text=True, timeout=20)
            self.assertEqual(p.returncode, 1, p.stderr)
            for w in want:
                self.assertIn(conf + w, p.stderr)
            rc, err = self.run_daemon(conf)
            self.assertEqual(rc, 1, err)
            for w in want:
                self.assertIn(conf + w, err)

            # With the keys right, the tokens: check names each missing one
            # with its key's line (or the section's, for x's default name),
            # and the daemon stops on the first with the same words.
            with open(conf, "w") as f:
                f.write("[daemon]\nstate_dir = state\nrules_dir = rules\n"
                        "admin_listen = 127.0.0.1:0\n"
                        "[source x1]\ntype = x\n"
                        "[source m1]\ntype = mastodon\nurl = http://127.0.0.1:9\n"
                        "token_file = nosuch.token\n")
            p = subprocess.run([DEFLECTD, "check", "-c", conf], capture_output=True,
                               text=True, timeout=20)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(conf + ":5:1: [source x1]: bearer_token_file: ", p.stderr)
            self.assertIn("x.token: No such file or directory", p.stderr)
            self.assertIn(conf + ":10:1: [source m1]: token_file: ", p.stderr)
            rc, err = self.run_daemon(conf)
            self.assertEqual(rc, 1, err)
            self.assertIn(":10: [source m1]: token_file: ", err)
            # An X source alone: its cleanup ran before its timers existed.
            with open(conf, "w") as f:
                f.write("[daemon]\nstate_dir = state\nrules_dir = rules\n"
                        "admin_listen = 127.0.0.1:0\n[source x1]\ntype = x\n")
            rc, err = self.run_daemon(conf)
            self.assertEqual(rc, 1, err)
            self.assertIn(":5: [source x1]: bearer_token_file: ", err)

    def test_non_loopback_admin_needs_a_token(self):
        with tmpdir() as t:
            d = Daemon(t)
            with open(d.conf) as f:
                text = f.read()
            with open(d.conf, "w") as f:
                f.write(text.replace("admin_listen = 127.0.0.1:0", "admin_listen = 0.0.0.0:0")
                        .replace("admin_token_file = token\n", ""))
            rc, err = self.run_daemon(d.conf)
            self.assertEqual(rc, 1)
            self.assertIn("admin_listen 0.0.0.0:0 is not loopback: admin_token_file is required",
                          err)

    def test_schema_1_and_2_databases_are_upgraded(self):
        # What schema 3 added (held alerts, silences, digests) is taken away, and for
        # schema 1 what 2 added too; the daemon adds it back and says it is 3.
        v3 = ("DROP INDEX deliveries_digest; ALTER TABLE deliveries DROP COLUMN reason;"
              "ALTER TABLE deliveries DROP COLUMN digest_id; ALTER TABLE outbox DROP COLUMN held;"
              "ALTER TABLE outbox DROP COLUMN silence_id; DROP TABLE silences; DROP TABLE digests;")
        for ver, drop in ((1, v3 + "ALTER TABLE deliveries DROP COLUMN requeued_at;"), (2, v3)):
            with tmpdir() as t:
                d = Daemon(t).start()
                d.stop()
                db = os.path.join(d.state, "deflectd.db")
                con = sqlite3.connect(db)
                con.executescript(drop + f"PRAGMA user_version = {ver};")
                con.close()
                d.start()
                d.stop()
                con = sqlite3.connect(db)
                cols = [r[1] for r in con.execute("PRAGMA table_info(deliveries)")]
                ocols = [r[1] for r in con.execute("PRAGMA table_info(outbox)")]
                tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master")]
                got = con.execute("PRAGMA user_version").fetchone()[0]
                con.close()
                for c in ("requeued_at", "reason", "digest_id"):
                    self.assertIn(c, cols, ver)
                self.assertIn("held", ocols)
                self.assertIn("silence_id", ocols)
                self.assertIn("silences", tables)
                self.assertIn("digests", tables)
                self.assertEqual(got, 3)

    def test_foreign_and_damaged_databases_are_refused(self):
        with tmpdir() as t:
            d = Daemon(t)
            os.makedirs(d.state)
            db = os.path.join(d.state, "deflectd.db")
            with open(db, "w") as f:
                f.write("this is not a database at all, just text " * 100)
            rc, err = self.run_daemon(d.conf)
            self.assertEqual(rc, 1)
            self.assertIn(db + ": file is not a database", err)
            self.assertIn("move it aside", err)
            with open(db, "r") as f:
                self.assertTrue(f.read().startswith("this is not a database"))
            os.unlink(db)
            con = sqlite3.connect(db)
            con.execute("CREATE TABLE invoices (id INTEGER)")
            con.commit()
            con.close()
            rc, err = self.run_daemon(d.conf)
            self.assertEqual(rc, 1)
            self.assertIn(db + ": an SQLite database of another application", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
