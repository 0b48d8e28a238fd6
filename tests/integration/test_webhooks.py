"""Alerts to webhooks through the real daemon and a real HTTP receiver on
127.0.0.1: retries, Retry-After, timeouts, 410, dead letters, a crash before
delivery, Slack bodies, and signatures checked by the reference Standard
Webhooks library (npm `standardwebhooks`)."""
import base64
import json
import os
import subprocess
import time
import unittest

from common import DEFLECTD, SRCDIR, Receiver, tmpdir
from daemon_harness import Daemon, post

VERIFY = os.path.join(SRCDIR, "tests", "webhook-verify")
OLD_SECRET = "whsec_" + base64.b64encode(b"old-secret-0123456789abcdef").decode()
NEW_SECRET = "whsec_" + base64.b64encode(b"new-secret-abcdef0123456789").decode()


def deflection(n):
    conv = f"c{n}"
    return [post(f"{conv}-q", "my order is broken", author=f"cust{n}", conv=conv),
            post(f"{conv}-a", f"@cust{n} sorry, DM us", author="Acme", brand=True, conv=conv,
                 reply=f"{conv}-q")]


def verify(secret, requests):
    """Runs the reference verifier; returns its lines."""
    if not os.path.isdir(os.path.join(VERIFY, "node_modules", "standardwebhooks")):
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund"], cwd=VERIFY,
                       check=True, timeout=300)
    p = subprocess.run(["node", os.path.join(VERIFY, "verify.js")], cwd=VERIFY,
                       input=json.dumps({"secret": secret, "requests": requests}),
                       capture_output=True, text=True, timeout=60, check=True)
    return p.stdout.split("\n")[:-1]


class Webhooks(unittest.TestCase):
    def setUp(self):
        self.t = tmpdir()
        self.rx = Receiver()
        with open(os.path.join(self.t.name, "ops.secret"), "w") as f:
            f.write(OLD_SECRET + "\n" + NEW_SECRET + "\n")

    def tearDown(self):
        self.rx.close()
        self.t.cleanup()

    def daemon(self, extra="", window="1s", max_age="1h"):
        return Daemon(self.t.name, window=window, extra=(
            f"[webhook ops]\nurl = {self.rx.url}\nsecret_file = ops.secret\n"
            f"retry_base = 1s\nretry_max = 2s\ntimeout = 1s\nmax_age = {max_age}\n" + extra))

    def test_retries_until_delivered_and_signatures_verify(self):
        self.rx.script = [500, 503, ("hang", 2.5)]
        d = self.daemon().start()
        d.push(deflection(1))
        reqs = self.rx.wait(4, timeout=30)
        d.wait_db("SELECT state, attempts FROM deliveries", [("delivered", 4)])
        d.stop()
        ids = {r["headers"]["webhook-id"] for r in reqs}
        self.assertEqual(len(ids), 1)  # the same alert every time
        doc = json.loads(reqs[-1]["body"])
        self.assertEqual(doc["version"], 1)
        self.assertEqual(doc["type"], "deflection.unresolved")
        self.assertEqual(doc["case"]["customer"], "cust1")
        self.assertEqual(doc["case"]["state"], "unresolved")
        self.assertEqual(doc["deflection"]["post_id"], "c1-a")
        self.assertEqual(doc["deflection"]["match"], "DM us")
        self.assertEqual(doc["deflection"]["text"], "@cust1 sorry, DM us")
        self.assertEqual(doc["deflection"]["rule"], "dm")
        # Backoff: attempts are spread out, not hammered.
        gaps = [b["at"] - a["at"] for a, b in zip(reqs, reqs[1:])]
        self.assertTrue(all(g >= 0.4 for g in gaps), gaps)
        # Both secrets sign every request (rotation): the reference verifier accepts
        # each request with either secret, and rejects a wrong one.
        rq = [{"headers": r["headers"], "body": r["body"]} for r in reqs]
        self.assertEqual(verify(OLD_SECRET, rq), ["ok " + r["headers"]["webhook-id"] for r in reqs])
        self.assertEqual(verify(NEW_SECRET, rq), ["ok " + r["headers"]["webhook-id"] for r in reqs])
        wrong = "whsec_" + base64.b64encode(b"wrong-secret-xxxxxxxxxxxxx").decode()
        self.assertTrue(all(l.startswith("bad ") for l in verify(wrong, rq)))

    def test_429_honours_retry_after(self):
        self.rx.script = [(429, {"Retry-After": "3"})]
        d = self.daemon().start()
        d.push(deflection(1))
        reqs = self.rx.wait(2, timeout=30)
        self.assertGreaterEqual(reqs[1]["at"] - reqs[0]["at"], 2.8)
        d.wait_db("SELECT state FROM deliveries", [("delivered",)])
        d.stop()

    def test_410_disables_the_endpoint(self):
        self.rx.script = [410]
        d = self.daemon(extra="concurrency = 1\n").start()
        d.push(deflection(1) + deflection(2))
        self.rx.wait(1)
        d.wait_log(r"webhook ops: HTTP 410 Gone; delivery to it is disabled")
        time.sleep(2.5)
        self.assertEqual(len(self.rx.requests), 1)
        self.assertEqual(d.db("SELECT name, reason FROM webhook_state"), [("ops", "HTTP 410 Gone")])
        # The one attempt made is counted; the alert waits, pending.
        self.assertIn(("pending", 1, 410), d.db("SELECT state, attempts, last_status "
                                                "FROM deliveries"))
        # Visible in status too.
        status_conf = os.path.join(self.t.name, "status.conf")
        with open(d.conf) as f, open(status_conf, "w") as g:
            g.write(f.read().replace("127.0.0.1:0", f"127.0.0.1:{d.port}"))
        p = subprocess.run([DEFLECTD, "status", "-c", status_conf], capture_output=True,
                           text=True, timeout=30)
        self.assertIn("webhook ops: DISABLED (answered 410 Gone", p.stdout, p.stderr)
        d.stop()
        p = subprocess.run([DEFLECTD, "alerts", "-c", d.conf, "enable-webhook", "ops"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        d.start()
        self.rx.wait(3)
        d.wait_db("SELECT count(*) FROM deliveries WHERE state = 'delivered'", [(2,)])
        d.stop()

    def test_dead_letter_and_requeue(self):
        self.rx.default = 500
        d = self.daemon(max_age="2s").start()
        d.push(deflection(1))
        d.wait_db("SELECT state FROM deliveries", [("dead",)], timeout=20)
        d.wait_log(r"alert dfl_[0-9a-f]+ is dead after \d+ attempts \(HTTP 500\)")
        p = subprocess.run([DEFLECTD, "alerts", "-c", d.conf, "list", "--state", "dead"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = p.stdout.splitlines()
        self.assertEqual(len(rows), 2, p.stdout)
        self.assertIn("\tdeflection.unresolved\tops\tdead\t", rows[1])
        p = subprocess.run([DEFLECTD, "alerts", "-c", d.conf, "list", "--state", "gone"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 2, p.stdout)
        self.assertIn('no state "gone"', p.stderr)
        # Requeued long after max_age, the alert has a whole max_age again:
        # one more failure is retried, not a dead letter at once.
        time.sleep(2)
        self.rx.default = 200
        self.rx.script = [503]
        n = len(self.rx.requests)
        p = subprocess.run([DEFLECTD, "alerts", "-c", d.conf, "requeue", "--dead"],
                           capture_output=True, text=True)
        self.assertEqual(p.stdout, "1 deliveries requeued\n")
        self.rx.wait(n + 2)
        d.wait_db("SELECT state, attempts FROM deliveries", [("delivered", 2)])
        d.stop()

    def test_kill9_before_delivery_then_delivered_after_restart(self):
        self.rx.script = [("hang", 5)]
        d = self.daemon(extra="").start()
        d.push(deflection(1))
        self.rx.wait(1)
        d.kill9()
        self.assertEqual(d.db("SELECT state FROM deliveries"), [("pending",)])
        self.rx.script = []
        d.start()
        d.wait_db("SELECT state FROM deliveries", [("delivered",)])
        ids = [r["headers"]["webhook-id"] for r in self.rx.requests]
        self.assertEqual(len(set(ids)), 1)
        d.stop()

    def test_filters_and_slack_format(self):
        d = self.daemon(extra=(
            f"[webhook chat]\nurl = {self.rx.url}?slack\nformat = slack\n"
            "types = deflection.escalated\n"
            f"[webhook other]\nurl = {self.rx.url}?other\nbrands = globex\n"
            f"[webhook sev]\nurl = {self.rx.url}?sev\nmin_severity = critical\n"
            f"[webhook tagged]\nurl = {self.rx.url}?tagged\ntags = channel\n"
            f"[webhook dmtag]\nurl = {self.rx.url}?dmtag\ntags = dm\nmin_severity = medium\n"
            )).start()
        d.push(deflection(1))
        d.push([post("c1-e", "@Acme still waiting", author="cust1", conv="c1", reply="c1-a")])
        # The dm rule is tagged dm with medium severity: "dmtag" takes both alerts,
        # "sev" (critical only), "tagged" (channel only) and "other" (globex) none.
        d.wait_db("SELECT webhook, count(*) FROM deliveries WHERE state = 'delivered' "
                  "GROUP BY webhook ORDER BY 1", [("chat", 1), ("dmtag", 2), ("ops", 2)],
                  timeout=20)
        d.stop()
        slack = [r for r in self.rx.requests if r["path"].endswith("?slack")]
        self.assertEqual(len(slack), 1)
        body = json.loads(slack[0]["body"])
        # The shape Slack documents for incoming webhooks: text, and blocks of
        # section / context with mrkdwn text objects.
        self.assertIsInstance(body["text"], str)
        self.assertIn("escalated", body["text"])
        for b in body["blocks"]:
            self.assertIn(b["type"], ("section", "context"))
            texts = [b["text"]] if b["type"] == "section" else b["elements"]
            for t in texts:
                self.assertEqual(t["type"], "mrkdwn")
                self.assertIsInstance(t["text"], str)
                self.assertLessEqual(len(t["text"]), 3000)
        for name in ("?other", "?sev", "?tagged"):
            self.assertFalse(any(r["path"].endswith(name) for r in self.rx.requests), name)

    def test_send_test_alert(self):
        d = self.daemon()
        p = subprocess.run([DEFLECTD, "send-test-alert", "-c", d.conf, "ops"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"^webhook ops: HTTP 200 in \d+ ms\n$")
        doc = json.loads(self.rx.requests[0]["body"])
        self.assertTrue(doc["test"])
        # The same shape as a real alert: span is where match is in text.
        dp = doc["deflection"]
        self.assertEqual(dp["text"][dp["span"][0]:dp["span"][1]], dp["match"])
        self.rx.default = 500
        p = subprocess.run([DEFLECTD, "send-test-alert", "-c", d.conf],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertIn("HTTP 500", p.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
