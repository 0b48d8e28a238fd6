"""What an operator meets first: --version, --help on every command, log
levels and time stamps, `check` warnings for an idle config, and the shipped
rules directory read before the operator's."""
import os
import re
import signal
import socket
import subprocess
import threading
import time
import unittest
import urllib.request

from common import DEFLECTD, Receiver, run, tmpdir, write_rules

COMMANDS = ["check", "replay", "test-rules", "explain", "alerts", "send-test-alert", "status",
            "case", "labels"]
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z <\d>")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Cli(unittest.TestCase):
    def test_version(self):
        for flag in ("--version", "-V"):
            rc, out, err = run(flag)
            self.assertEqual(rc, 0, err)
            lines = out.splitlines()
            self.assertRegex(lines[0], r"^deflectd \d+\.\d+\.\d+")
            libs = {l.split()[0]: l.split(None, 1)[1] for l in lines[1:]}
            for lib in ("pcre2", "libcurl", "libevent", "sqlite", "jansson"):
                self.assertRegex(libs.get(lib, ""), r"^\d+\.\d+", lib)
        # The SQLite in use, as the sqlite3 module of this Python reports it
        # when both load the system library.
        import sqlite3
        self.assertIn(f"sqlite    {sqlite3.sqlite_version}", run("-V")[1])

    def test_help_on_every_command(self):
        rc, out, _ = run("--help")
        self.assertEqual(rc, 0)
        for c in COMMANDS:
            self.assertIn(c, out)
            rc, out_c, err = run(c, "--help")
            self.assertEqual(rc, 0, f"{c} --help: {err}")
            self.assertTrue(out_c.startswith(f"usage: deflectd {c}"), out_c)
        self.assertIn("--log-level", out)

    def test_bad_log_level(self):
        rc, _, err = run("--log-level", "loud")
        self.assertEqual(rc, 2)
        self.assertIn("--log-level", err)
        with tmpdir() as t:
            rules = write_rules(t, "[deflection dm]\npattern = \\bdm\\b\n")
            conf = os.path.join(t, "c.conf")
            with open(conf, "w") as f:
                f.write(f"[daemon]\nrules_dir = {rules}\nlog_level = chatty\n")
            rc, _, err = run("check", "-c", conf)
            self.assertEqual(rc, 1)
            self.assertIn(f"{conf}:3:13: log_level must be error, warning, notice, info or debug",
                          err)


class CheckWarnings(unittest.TestCase):
    def test_no_brand_no_input_warns(self):
        with tmpdir() as t:
            rules = write_rules(t, "[deflection dm]\npattern = \\bdm\\b\nexample = dm\n")
            conf = os.path.join(t, "c.conf")
            with open(conf, "w") as f:
                f.write(f"[daemon]\nrules_dir = {rules}\n")
            rc, out, err = run("check", "-c", conf)
            self.assertEqual(rc, 0, err)
            self.assertTrue(out.startswith("configuration OK"))
            self.assertIn(f"{conf}: warning: no [brand] section", err)
            self.assertIn(f"{conf}: warning: no input", err)
            with open(conf, "a") as f:
                f.write("[brand acme]\ntwitter = AcmeSupport\n"
                        "[source f]\ntype = file\npath = /tmp/posts.ndjson\n")
            rc, out, err = run("check", "-c", conf)
            self.assertEqual((rc, err), (0, ""))


class ShippedRules(unittest.TestCase):
    def test_shipped_then_operator_rules(self):
        with tmpdir() as t:
            shipped = os.path.join(t, "shipped")
            os.makedirs(shipped)
            with open(os.path.join(shipped, "10-dm.rules"), "w") as f:
                f.write("[deflection dm]\npattern = \\bdm\\s+us\\b\nexample = DM us\n")
            local = os.path.join(t, "rules.d")
            os.makedirs(local)
            conf = os.path.join(t, "c.conf")

            def check(extra):
                with open(conf, "w") as f:
                    f.write(f"[daemon]\nrules_dir = rules.d\n{extra}")
                return run("check", "-c", conf)

            # An empty operator directory is fine when the shipped one has rules.
            rc, out, err = check("shipped_rules_dir = shipped\n")
            self.assertEqual(rc, 0, err)
            self.assertIn("configuration OK (1 rules", out)
            with open(os.path.join(local, "50-mine.rules"), "w") as f:
                f.write("[deflection call]\npattern = \\bcall\\s+us\\b\nexample = call us\n")
            rc, out, err = check("shipped_rules_dir = shipped\n")
            self.assertIn("configuration OK (2 rules", out)
            rc, out, err = run("explain", "-c", conf, "please DM us or call us")
            self.assertEqual(rc, 0, err)
            # Shipped rules come first, whatever the file names say.
            self.assertLess(out.index(os.path.join(shipped, "10-dm.rules")),
                            out.index(os.path.join(local, "50-mine.rules")))
            # none: no shipped rules. A named directory that is missing is an error.
            rc, out, err = check("shipped_rules_dir = none\n")
            self.assertIn("configuration OK (1 rules", out)
            rc, out, err = check("shipped_rules_dir = nowhere\n")
            self.assertEqual(rc, 1)
            self.assertIn(os.path.join(t, "nowhere") + ": cannot open rules directory", err)
            # --rules names the one directory read.
            rc, out, err = run("check", "-c", conf, "--rules", shipped)
            self.assertIn("configuration OK (1 rules", out)


class Logging(unittest.TestCase):
    extra = ""

    def start(self, t, level, env=None, args=()):
        rules = write_rules(t, "[deflection dm]\npattern = \\bdm\\s+us\\b\nexample = DM us\n")
        with open(os.path.join(t, "token"), "w") as f:
            f.write("tok\n")
        self.feed = os.path.join(t, "posts.ndjson")
        open(self.feed, "w").close()
        self.port = free_port()
        self.conf = os.path.join(t, "c.conf")
        self.write_conf(t, rules, level)
        r, w = os.pipe()
        st = os.fstat(w)
        e = dict(os.environ)
        e.pop("JOURNAL_STREAM", None)
        if env == "journal":
            e["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        self.proc = subprocess.Popen([DEFLECTD, "-c", self.conf, *args], stderr=w,
                                     stdout=subprocess.DEVNULL, env=e)
        os.close(w)
        self.lines = []

        def reader():
            with os.fdopen(r, "r") as f:
                for line in f:
                    self.lines.append(line.rstrip("\n"))
        self.reader = threading.Thread(target=reader, daemon=True)
        self.reader.start()
        self.wait(lambda: self.get("/readyz") == 200)

    def write_conf(self, t, rules, level):
        with open(self.conf, "w") as f:
            f.write(f"[daemon]\nstate_dir = {t}/state\nrules_dir = {rules}\n"
                    f"admin_listen = 127.0.0.1:{self.port}\nadmin_token_file = token\n"
                    # The deflection below is dated in the past: max_alert_age would hold it.
                    f"lateness = 0s\nmax_alert_age = 0s\n"
                    f"{'log_level = ' + level if level else ''}\n"
                    f"[source feed]\ntype = file\npath = {self.feed}\n{self.extra}")

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
                return r.status
        except Exception:
            return None

    def push(self, body):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/v1/posts", data=body,
                                     method="POST", headers={"Authorization": "Bearer tok"})
        try:
            urllib.request.urlopen(req, timeout=5)
        except urllib.error.HTTPError as e:
            return e.code
        return 200

    def wait(self, cond, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return
            time.sleep(0.05)
        self.fail("timed out; log:\n" + "\n".join(self.lines))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        self.reader.join(timeout=5)

    def has(self, rx):
        return any(re.search(rx, l) for l in self.lines)

    def test_bad_lines_are_warnings_everywhere_and_level_filters(self):
        with tmpdir() as t:
            self.start(t, "warning")
            try:
                # The daemon says at start why a config would leave it idle.
                self.wait(lambda: self.has(r"<4>" + re.escape(self.conf) +
                                           r": warning: no \[brand\] section"))
                self.assertFalse(self.has("no input"), self.lines)
                self.assertEqual(self.push(b"not json\n"), 400)
                with open(self.feed, "a") as f:
                    f.write("{broken\n")
                # The same class of event, the same priority, whatever the input.
                self.wait(lambda: self.has(r"<4>push: line 1: not JSON"))
                self.wait(lambda: self.has(r"<4>" + re.escape(self.feed) + r":1: not JSON"))
                # At warning, nothing at info or below is written.
                self.assertFalse(self.has(r"<[67]>"), self.lines)
                self.assertTrue(all(STAMP.match(l) for l in self.lines), self.lines)
                # A reload applies the config's new level.
                self.write_conf(t, os.path.join(t, "rules"), "info")
                self.proc.send_signal(signal.SIGHUP)
                self.wait(lambda: self.has(r"<6>reloaded: 1 rules"))
            finally:
                self.stop()

    def test_retried_delivery_is_a_warning_a_dead_one_an_error(self):
        rx = Receiver()
        rx.default = 500
        self.extra = ("[webhook ops]\n"
                      f"url = {rx.url}\nretry_base = 1s\nretry_max = 1s\nmax_age = 2s\n")
        try:
            with tmpdir() as t:
                self.start(t, "info")
                try:
                    # alert_detected is off: an unresolved case needs its window to pass,
                    # so the deflection is pushed with a window already over.
                    old = "2026-01-01T00:00:00Z"
                    body = ('{"id":"q","author":"cust","created_at":"%s","text":"broken",'
                            '"conversation_id":"c"}\n{"id":"a","author":"Acme",'
                            '"author_is_brand":true,"created_at":"%s","in_reply_to_id":"q",'
                            '"conversation_id":"c","text":"@cust please DM us"}\n') % (old, old)
                    self.assertEqual(self.push(body.encode()), 200)
                    self.wait(lambda: self.has(r"<4>webhook ops: alert \S+ attempt 1 failed"),
                              timeout=20)
                    self.wait(lambda: self.has(r"<3>webhook ops: alert \S+ is dead after"),
                              timeout=20)
                    self.assertFalse(self.has(r"<3>webhook ops: alert \S+ attempt"), self.lines)
                finally:
                    self.stop()
        finally:
            rx.close()

    def test_journal_gets_no_time_stamps_and_command_line_wins(self):
        with tmpdir() as t:
            self.start(t, "error", env="journal", args=("--log-level", "debug"))
            try:
                self.wait(lambda: self.has(r"^<6>deflectd started"))
                self.push(b'{"id":"1","author":"a","created_at":"2026-01-01T00:00:00Z",'
                          b'"text":"hi"}\n')
                self.wait(lambda: self.has(r"^<7>post unknown/1 accepted"))
                self.assertFalse(any(STAMP.match(l) for l in self.lines), self.lines)
            finally:
                self.stop()


if __name__ == "__main__":
    unittest.main()
