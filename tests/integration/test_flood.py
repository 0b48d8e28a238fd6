"""Flood control and alert text against the real daemon and local webhook
receivers: a historical recording pushed into a live daemon is recorded but
not sent (max_alert_age), group_by/group_wait/group_interval send one signed
digest per group, rate_limit spaces requests out, and every alert says why
it was not sent. Last, the text of each alert type, as JSON and for Slack."""
import base64
import glob
import json
import os
import re
import signal
import subprocess
import time
import unittest

from common import CORPUS, DEFLECTD, SRCDIR, Receiver, tmpdir
from daemon_harness import Daemon, iso, post
from test_webhooks import verify

SECRET = "whsec_" + base64.b64encode(b"digest-secret-0123456789ab").decode()


def deflection(n, brand="Acme", at=None, url=False):
    conv, cust = f"c{n}", f"cust{n}"
    ps = [post(f"{conv}-q", "my order is broken", author=cust, conv=conv, at=at),
          post(f"{conv}-a", f"@{cust} sorry, DM us", author=brand, brand=True, conv=conv,
               reply=f"{conv}-q", at=at)]
    if url:
        for p in ps:
            p["url"] = f"https://x.example/{p['id']}"
    return ps


def alerts_list(conf, state=None):
    args = [DEFLECTD, "alerts", "-c", conf, "list"] + (["--state", state] if state else [])
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, line.split("\t"))) for line in lines[1:]]


def mrkdwn_texts(body):
    out = []
    for b in body["blocks"]:
        out += [b["text"]["text"]] if b["type"] == "section" else [e["text"] for e in b["elements"]]
    return out


class Flood(unittest.TestCase):
    def setUp(self):
        self.t = tmpdir()
        self.rx = Receiver()
        with open(os.path.join(self.t.name, "dig.secret"), "w") as f:
            f.write(SECRET + "\n")

    def tearDown(self):
        self.rx.close()
        self.t.cleanup()

    def by_path(self, suffix):
        return [r for r in self.rx.requests if r["path"].endswith(suffix)]

    def test_backfill_is_recorded_not_sent(self):
        path = os.path.join(CORPUS, "conversations.ndjson")
        if not os.path.exists(path):
            self.skipTest("corpus not present")
        # The first 400 conversations of the recording (2017, some 2011-2020), in time order.
        posts, convs = [], set()
        with open(path) as f:
            for line in f:
                p = json.loads(line)
                if p["conversation_id"] not in convs and len(convs) == 400:
                    break
                convs.add(p["conversation_id"])
                posts.append(p)
        posts.sort(key=lambda p: p["created_at"])
        rules = ""
        for name in sorted(glob.glob(os.path.join(SRCDIR, "rules", "*.rules"))):
            with open(name) as f:
                rules += f.read() + "\n"
        d = Daemon(self.t.name, window="72h", rules=rules, extra=(
            "alert_detected = yes\n"
            f"[webhook ops]\nurl = {self.rx.url}?ops\n"
            f"[webhook dig]\nurl = {self.rx.url}?dig\ngroup_by = brand\ngroup_wait = 1s\n"))
        d.start()
        try:
            code, answer = d.push(posts)
            self.assertEqual(code, 200, answer)
            d.wait_log(r"alert dfl_\w+ \(deflection\.unresolved\) not sent: too old")
            time.sleep(3)  # a tick for the deadlines, and group_wait for any digest
            unresolved = d.db("SELECT count(*) FROM cases WHERE state = 'unresolved'")[0][0]
            self.assertGreater(unresolved, 20)
            self.assertEqual(self.rx.requests, [])  # nothing older than max_alert_age
            outbox = d.db("SELECT type, count(*), count(held) FROM outbox GROUP BY type")
            for typ, n, held in outbox:
                self.assertEqual(n, held, typ)  # every alert recorded says why it was held
            self.assertEqual(dict((t, n) for t, n, _ in outbox)["deflection.unresolved"],
                             unresolved + d.db("SELECT count(*) FROM cases WHERE state = "
                                               "'resolved_late'")[0][0])
            rows = alerts_list(d.conf)
            total = sum(n for _, n, _ in outbox)
            self.assertEqual(len(rows), 2 * total)  # one row per alert and webhook
            for r in rows:
                self.assertEqual(r["state"], "too_old", r)
                self.assertRegex(r["reason"], r"^too old: its (deadline|post) 20\d\d-\S+ was more "
                                 r"than max_alert_age \(86400s\) before it was found$")
            code, body = d.get("/v1/alerts?state=too_old")
            self.assertEqual(code, 200)
            self.assertTrue(all(a["reason"].startswith("too old") for a in json.loads(body)["alerts"]))
            code, body = d.get("/metrics")
            m = re.search(r'deflectd_alerts_held_total\{reason="too_old"\} (\d+)', body)
            self.assertEqual(int(m.group(1)), total)
        finally:
            d.stop()

    def test_digests_follow_group_wait_and_group_interval(self):
        d = Daemon(self.t.name, window="1s", extra=(
            f"[webhook dig]\nurl = {self.rx.url}?dig\nsecret_file = dig.secret\n"
            "group_by = brand\ngroup_wait = 2s\ngroup_interval = 5s\n"
            f"[webhook chat]\nurl = {self.rx.url}?chat\nformat = slack\ngroup_by = type\n"
            "group_wait = 2s\ngroup_interval = 1h\n"))
        d.start()
        try:
            at = iso()
            batch = [p for n in range(1, 6) for p in deflection(n, at=at, url=True)]
            batch += [p for n in range(6, 8) for p in deflection(n, "Globex", at=at)]
            d.push(batch)
            self.rx.wait(3, timeout=20)
            time.sleep(2.5)  # nothing more within group_interval
            dig = self.by_path("?dig")
            self.assertEqual(len(dig), 2, [r["body"][:200] for r in dig])
            docs = sorted((json.loads(r["body"]) for r in dig), key=lambda x: x["group"]["brand"])
            self.assertEqual([(x["type"], x["group"], x["count"], len(x["alerts"])) for x in docs],
                             [("deflection.digest", {"brand": "Acme"}, 5, 5),
                              ("deflection.digest", {"brand": "Globex"}, 2, 2)])
            self.assertEqual({a["case"]["customer"] for a in docs[0]["alerts"]},
                             {f"cust{n}" for n in range(1, 6)})
            for x, r in zip(docs, sorted(dig, key=lambda r: json.loads(r["body"])["group"]["brand"])):
                self.assertEqual(r["headers"]["webhook-id"], x["id"])
            # One Standard Webhooks message per digest, checked by the reference verifier.
            rq = [{"headers": r["headers"], "body": r["body"]} for r in dig]
            self.assertEqual(verify(SECRET, rq), ["ok " + r["headers"]["webhook-id"] for r in dig])
            # Slack: one digest for the type, a count and the first five.
            chat = self.by_path("?chat")
            self.assertEqual(len(chat), 1)
            body = json.loads(chat[0]["body"])
            self.assertIn("7 alerts, type deflection.unresolved", body["text"])
            texts = mrkdwn_texts(body)
            self.assertEqual(texts[1].count("• *Unresolved deflection*"), 5)
            self.assertIn("...and 2 more in this digest", texts[1])
            self.assertIn("|View the post>", texts[1])
            for t in texts:
                self.assertLessEqual(len(t), 3000)
            # Each alert says which digest took it and how that went.
            rows = [r for r in alerts_list(d.conf) if r["type"] == "deflection.unresolved"]
            self.assertEqual(len(rows), 14)
            for r in rows:
                self.assertEqual(r["state"], "grouped")
                self.assertRegex(r["reason"], r"^grouped into digest dgst_[0-9a-f]{24} \(delivered\)$")
            # group_interval: the next Acme digest waits 5s from the last one.
            first = [r for r in dig if json.loads(r["body"])["group"]["brand"] == "Acme"][0]
            d.push(deflection(8, at=iso()))
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and len(self.by_path("?dig")) < 3:
                time.sleep(0.05)
            dig = self.by_path("?dig")
            self.assertEqual(len(dig), 3)
            self.assertEqual(json.loads(dig[2]["body"])["count"], 1)
            # 5s after the first, counted in whole seconds: at least 4s, less arrival jitter.
            self.assertGreaterEqual(dig[2]["at"] - first["at"], 3.5)
            time.sleep(1)
            self.assertEqual(len(self.by_path("?chat")), 1)  # the type's group_interval is 1h
        finally:
            d.stop()

    def test_rate_limit(self):
        d = Daemon(self.t.name, window="1s", extra=(
            f"[webhook ops]\nurl = {self.rx.url}\nrate_limit = 2/3s\n"))
        d.start()
        try:
            at = iso()
            d.push([p for n in range(1, 6) for p in deflection(n, at=at)])
            reqs = self.rx.wait(5, timeout=30)
            gaps = [b["at"] - a["at"] for a, b in zip(reqs, reqs[2:])]
            # Never 3 within 3s (the receiver's clock: a little slack for arrival jitter).
            self.assertTrue(all(g >= 2.4 for g in gaps), gaps)
            d.wait_db("SELECT count(*) FROM deliveries WHERE state = 'delivered'", [(5,)])
            code, body = d.get("/metrics")
            m = re.search(r'deflectd_webhook_rate_limited_total\{webhook="ops"\} (\d+)', body)
            self.assertGreater(int(m.group(1)), 0)
        finally:
            d.stop()

    def test_rate_limit_holds_across_a_reload(self):
        d = Daemon(self.t.name, window="1s", extra=(
            f"[webhook ops]\nurl = {self.rx.url}\nrate_limit = 1/5s\n"))
        d.start()
        try:
            d.push(deflection(1))
            self.rx.wait(1)
            d.signal(signal.SIGHUP)
            d.wait_log(r"reloaded: \d+ rules")
            d.push(deflection(2))
            reqs = self.rx.wait(2, timeout=20)
            self.assertGreaterEqual(reqs[1]["at"] - reqs[0]["at"], 4.4)
        finally:
            d.stop()

    def test_an_open_digest_survives_a_restart(self):
        d = Daemon(self.t.name, window="1s", extra=(
            f"[webhook ops]\nurl = {self.rx.url}\ngroup_by = brand\ngroup_wait = 4s\n"))
        d.start()
        try:
            at = iso()
            d.push([p for n in range(1, 4) for p in deflection(n, at=at)])
            d.wait_db("SELECT count(*) FROM deliveries WHERE state = 'grouped'", [(3,)])
            d.stop()
            self.assertEqual(self.rx.requests, [])
            d.start()
            reqs = self.rx.wait(1, timeout=20)
            time.sleep(1)
            self.assertEqual(len(self.rx.requests), 1)
            doc = json.loads(reqs[0]["body"])
            self.assertEqual((doc["type"], doc["count"]), ("deflection.digest", 3))
            d.wait_db("SELECT state FROM deliveries WHERE alert_id LIKE 'dgst_%'", [("delivered",)])
        finally:
            d.stop()

    def test_bad_flood_settings_are_config_errors(self):
        d = Daemon(self.t.name, extra=(
            "max_alert_age = soon\n"
            f"[webhook ops]\nurl = {self.rx.url}\ngroup_by = brand, colour\n"
            "group_wait = -1s\nrate_limit = 30 per minute\n"
            f"[webhook two]\nurl = {self.rx.url}\nrate_limit = 0/1m\n"))
        p = subprocess.run([DEFLECTD, "check", "-c", d.conf], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 1, p.stderr)
        for line, msg in ((8, "max_alert_age must be a duration"),
                          (11, '[webhook ops]: group_by "colour" is not one of brand, type, '
                               'platform, rule'),
                          (12, "[webhook ops]: group_wait must be a duration"),
                          (13, '[webhook ops]: rate_limit "30 per minute" is not COUNT/DURATION'),
                          (16, '[webhook two]: rate_limit "0/1m" is not COUNT/DURATION')):
            self.assertIn(f"{d.conf}:{line}:", p.stderr)
            self.assertIn(msg, p.stderr)
        with open(d.conf, "w") as f:
            f.write(f"[daemon]\nstate_dir = state\nrules_dir = rules\nmax_alert_age = 0s\n"
                    f"[webhook ops]\nurl = {self.rx.url}\ngroup_wait = 0s\nrate_limit = 30/1m\n")
        p = subprocess.run([DEFLECTD, "check", "-c", d.conf], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_alert_text_per_type(self):
        d = Daemon(self.t.name, window="2s", extra=(
            "alert_detected = yes\n"
            f"[webhook js]\nurl = {self.rx.url}?json\n"
            f"[webhook chat]\nurl = {self.rx.url}?slack\nformat = slack\n"))
        d.start()
        try:
            ps = deflection(1, url=True)
            esc = post("c1-e", "@Acme still waiting > 2 days & no answer", author="cust1",
                       conv="c1", reply="c1-a")
            esc["url"] = "https://x.example/c1-e"
            d.push(ps + [esc])
            d.wait_db("SELECT count(*) FROM outbox WHERE type = 'deflection.unresolved'", [(1,)])
            d.push([post("c1-r", "@Acme all sorted now", author="cust1", conv="c1",
                         reply="c1-a")])
            d.wait_db("SELECT count(*) FROM deliveries WHERE state = 'delivered'", [(8,)],
                      timeout=20)
        finally:
            d.stop()
        docs = {}
        for r in self.by_path("?json"):
            x = json.loads(r["body"])
            docs[x["type"]] = x
        self.assertEqual(set(docs), {"deflection.detected", "deflection.escalated",
                                     "deflection.unresolved", "deflection.resolved_late"})
        deadline = docs["deflection.unresolved"]["case"]["deadline"]
        for typ, x in docs.items():
            self.assertEqual("no public resolution by" in x["summary"],
                             typ == "deflection.unresolved", x["summary"])
        self.assertIn(f"there was no public resolution by {deadline}",
                      docs["deflection.unresolved"]["summary"])
        self.assertIn("a public resolution is due by", docs["deflection.detected"]["summary"])
        self.assertIn("resolved in public at", docs["deflection.resolved_late"]["summary"])
        e = docs["deflection.escalated"]
        self.assertIn('they escalated in public: "@Acme still waiting > 2 days & no answer"',
                      e["summary"])
        self.assertEqual((e["post"]["post_id"], e["post"]["author"], e["post"]["url"]),
                         ("c1-e", "cust1", "https://x.example/c1-e"))
        self.assertIsNone(docs["deflection.unresolved"]["post"])
        slack = {}
        for r in self.by_path("?slack"):
            b = json.loads(r["body"])
            slack[b["blocks"][-1]["elements"][0]["text"]] = b
        self.assertEqual(len(slack), 4)
        for typ, x in docs.items():
            b = slack[x["id"]]
            self.assertEqual("no public resolution by" in b["text"],
                             typ == "deflection.unresolved", b["text"])
            texts = mrkdwn_texts(b)
            self.assertIn("<https://x.example/c1-a|View the deflecting post>", texts[1])
            for t in texts:
                # '>' only starts a quote line or closes a link; the customer's '>' is escaped.
                stripped = re.sub(r"<[^<>|]+\|[^<>]+>", "", t)
                for line in stripped.split("\n"):
                    self.assertNotIn(">", line[1:] if line.startswith(">") else line, t)
        words = "\n".join(mrkdwn_texts(slack[e["id"]]))
        self.assertIn("*The customer wrote* (cust1):\n>@Acme still waiting &gt; 2 days &amp; no "
                      "answer\n<https://x.example/c1-e|View the post>", words)


if __name__ == "__main__":
    unittest.main(verbosity=2)
