"""Operator case actions against the real daemon, its state database and a
webhook receiver on 127.0.0.1: `case show`, GET /v1/cases/{id} and the
/cases/{id} page for resolved, unresolved and escalated cases; `case close`
and POST /v1/cases/{id}/verdict stopping the unresolved alert (also across a
restart); `labels export` read by `test-rules --labels`; and bad input."""
import json
import os
import shutil
import subprocess
import time
import unittest
import urllib.error
import urllib.request

from common import DEFLECTD, Receiver, tmpdir
from daemon_harness import TOKEN, Daemon, post
from test_admin import png_pixels


def deflection(n, text="sorry, DM us", **kw):
    conv = f"c{n}"
    q = post(f"{conv}-q", "my order is broken", author=f"cust{n}", conv=conv)
    a = post(f"{conv}-a", f"@cust{n} {text}", author="Acme", brand=True, conv=conv,
             reply=f"{conv}-q")
    a["url"] = f"https://twitter.com/Acme/status/{n}1"
    a.update(kw)
    return [q, a]


def reply(n, id, text, author=None, brand=False):
    conv = f"c{n}"
    p = post(f"{conv}-{id}", text, author=author or f"cust{n}", brand=brand, conv=conv,
             reply=f"{conv}-a")
    p["url"] = f"https://twitter.com/x/status/{n}9{id}"
    return p


def cli(*args):
    return subprocess.run([DEFLECTD] + list(args), capture_output=True, text=True, timeout=60)


class Cases(unittest.TestCase):
    def setUp(self):
        self.t = tmpdir()
        self.rx = Receiver()

    def tearDown(self):
        if getattr(self, "d", None):
            self.d.stop()
        self.rx.close()
        self.t.cleanup()

    def daemon(self, window="4s"):
        self.d = Daemon(self.t.name, window=window, extra=(
            f"[webhook ops]\nurl = {self.rx.url}\nretry_base = 1s\nretry_max = 2s\n"))
        return self.d

    def request(self, path, body=None, token=TOKEN, method=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.d.port}{path}",
                                     data=body if body is None else body.encode(),
                                     method=method or ("POST" if body is not None else "GET"))
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers.get("Content-Type"), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type"), e.read().decode()

    def verdict(self, id, doc, token=TOKEN):
        code, _, body = self.request(f"/v1/cases/{id}/verdict", json.dumps(doc), token=token)
        return code, json.loads(body)

    def case_ids(self):
        code, body = self.d.get("/v1/cases")
        self.assertEqual(code, 200, body)
        return {c["customer"]: c["id"] for c in json.loads(body)["cases"]}

    def wait_cases(self, n):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ids = self.case_ids()
            if len(ids) >= n:
                return ids
            time.sleep(0.05)
        raise AssertionError(f"fewer than {n} cases: {ids}")

    def alerted(self):
        """(type, customer) of every alert the receiver got."""
        return sorted({(json.loads(r["body"])["type"], json.loads(r["body"])["case"]["customer"])
                       for r in self.rx.requests})

    def test_verdict_stops_the_unresolved_alert_and_survives_restart(self):
        d = self.daemon(window="4s").start()
        self.assertEqual(d.push(deflection(1) + deflection(2) + deflection(3))[0], 200)
        ids = self.wait_cases(3)
        # The CLI writes the state database while the daemon runs; the daemon's
        # tracker must let the case go before its deadline.
        p = cli("case", "-c", d.conf, "close", str(ids["cust1"]), "--as", "not-deflection",
                "--note", "a thank-you, not a DM ask", "--author", "alice")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"case {ids['cust1']} closed as not-deflection", p.stdout)
        # The API closes another one.
        code, doc = self.verdict(ids["cust2"], {"as": "resolved", "note": "sorted by phone",
                                                "author": "bob"})
        self.assertEqual(code, 200, doc)
        self.assertEqual(doc["state"], "closed")
        self.assertEqual(doc["operator_verdict"]["verdict"], "resolved")
        self.assertEqual(doc["operator_verdict"]["author"], "bob")
        self.assertEqual(doc["operator_verdict"]["state_before"], "deflected")
        # Only the third case's deadline fires.
        self.rx.wait(1, timeout=20)
        time.sleep(2.5)
        self.assertEqual(self.alerted(), [("deflection.unresolved", "cust3")])
        self.assertEqual(d.db("SELECT customer, state FROM cases ORDER BY customer"),
                         [("cust1", "closed"), ("cust2", "closed"), ("cust3", "unresolved")])
        code, metrics = d.get("/metrics")
        self.assertIn('deflectd_case_verdicts{verdict="not-deflection"} 1\n', metrics)
        self.assertIn('deflectd_case_verdicts{verdict="resolved"} 1\n', metrics)
        self.assertIn('deflectd_cases{state="closed"} 2\n', metrics)
        code, body = d.get("/v1/cases?state=closed")
        self.assertEqual(sorted(c["customer"] for c in json.loads(body)["cases"]),
                         ["cust1", "cust2"])

        # Closed while the daemon is down, and a deadline that passes meanwhile.
        d.push(deflection(4))
        ids = self.wait_cases(4)
        d.stop()
        p = cli("case", "-c", d.conf, "close", str(ids["cust4"]), "--as", "escalated",
                "--note", "handed to the complaints team")
        self.assertEqual(p.returncode, 0, p.stderr)
        time.sleep(4.5)
        d.start()
        d.push(deflection(5))
        self.wait_cases(5)
        d.wait_db("SELECT count(*) FROM deliveries", [(2,)], timeout=20)
        time.sleep(1.5)
        self.assertEqual(self.alerted(), [("deflection.unresolved", "cust3"),
                                          ("deflection.unresolved", "cust5")])
        self.assertIn("0 open and 1 unresolved cases",
                      next(l for l in d.log if "open and" in l))
        # The verdicts are labels, in exactly the format test-rules reads.
        out = os.path.join(self.t.name, "labels.ndjson")
        p = cli("labels", "-c", d.conf, "export", "-o", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("3 labels written to", p.stderr)
        with open(out) as f:
            labels = [json.loads(l) for l in f]
        self.assertEqual(labels, [
            {"id": "c1-a", "brand": "Acme", "label": "none", "unsure": False},
            {"id": "c2-a", "brand": "Acme", "label": "dm", "unsure": False},
            {"id": "c4-a", "brand": "Acme", "label": "dm", "unsure": False}])
        with open(out) as f:
            self.assertEqual(cli("labels", "-c", d.conf, "export").stdout, f.read())
        rec = os.path.join(self.t.name, "posts.ndjson")
        with open(rec, "w") as f:
            for n in (1, 2, 4):
                for p in deflection(n):
                    f.write(json.dumps(p) + "\n")
        p = cli("test-rules", "--rules", d.rules, "--labels", out, rec)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("Labels: 3 (unsure left out), 0 with no post in the input", p.stdout)
        # The dm rule matched all three: two true, one false positive.
        self.assertRegex(p.stdout, r"\n  dm +2 +1 +0 +0\.6667 +1\.0000 +0\.8000\n")
        self.assertIn("c1-a [none by dm]", p.stdout)

    def test_case_detail_resolved_unresolved_escalated(self):
        d = self.daemon(window="3s").start()
        d.push(deflection(1) + [reply(1, "r", "thanks, all sorted now")])
        d.push(deflection(2))
        d.push(deflection(3, text="so sorry &lt;b&gt;Jo&lt;/b&gt;, DM us",
                          url="javascript:alert(1)") +
               [reply(3, "e", "still waiting, nobody answered")])
        self.rx.wait(2, timeout=20)  # escalated at once, unresolved after 3s
        d.wait_db("SELECT count(*) FROM deliveries WHERE state = 'delivered'", [(3,)],
                  timeout=20)
        ids = self.case_ids()

        code, body = d.get(f"/v1/cases/{ids['cust1']}")
        self.assertEqual(code, 200, body)
        c = json.loads(body)
        self.assertEqual((c["id"], c["state"], c["customer"], c["brand"], c["platform"]),
                         (ids["cust1"], "resolved", "cust1", "Acme", "twitter"))
        self.assertIsInstance(c["time_to_resolution"], int)
        self.assertEqual([(e["post_id"], e["role"], e["finding"], e["rule"], e["match"])
                          for e in c["timeline"]],
                         [("c1-a", "brand", "deflection", "dm", "DM us"),
                          ("c1-r", "customer", "resolution", "fixed", "sorted")])
        first = c["timeline"][0]
        self.assertEqual(first["text"][first["span"][0]:first["span"][1]], "DM us")
        self.assertEqual(first["url"], "https://twitter.com/Acme/status/11")
        self.assertEqual([e["author"] for e in c["timeline"]], ["Acme", "cust1"])
        self.assertEqual(c["alerts"], [])
        self.assertIsNone(c["operator_verdict"])
        self.assertEqual(c["silences"], [])

        code, body = d.get(f"/v1/cases/{ids['cust2']}")
        c = json.loads(body)
        self.assertEqual(c["state"], "unresolved")
        self.assertEqual(len(c["timeline"]), 1)
        self.assertEqual([(a["type"], [(x["webhook"], x["state"], x["attempts"])
                                       for x in a["deliveries"]]) for a in c["alerts"]],
                         [("deflection.unresolved", [("ops", "delivered", 1)])])
        self.assertRegex(c["alerts"][0]["id"], r"^dfl_[0-9a-f]+$")

        code, body = d.get(f"/v1/cases/{ids['cust3']}")
        c = json.loads(body)
        self.assertEqual((c["state"], c["escalations"]), ("unresolved", 1))
        self.assertEqual([(e["role"], e["finding"], e["match"]) for e in c["timeline"]],
                         [("brand", "deflection", "DM us"),
                          ("customer", "escalation", "still waiting")])
        self.assertEqual(sorted(a["type"] for a in c["alerts"]),
                         ["deflection.escalated", "deflection.unresolved"])
        # The operator escalates it: shown on the case, in the CLI and the page.
        code, doc = self.verdict(ids["cust3"], {"as": "escalated", "note": "to <legal> & co"})
        self.assertEqual(code, 200, doc)
        self.assertEqual((doc["state"], doc["operator_verdict"]["state_before"],
                          doc["operator_verdict"]["author"]), ("closed", "unresolved", "api"))

        # A case the tracker resolved keeps its state; the verdict is still kept.
        p = cli("case", "-c", d.conf, "close", str(ids["cust1"]), "--as", "not-deflection",
                "--note", "a thank-you")
        self.assertEqual(p.returncode, 0, p.stderr)
        c = json.loads(d.get(f"/v1/cases/{ids['cust1']}")[1])
        self.assertEqual((c["state"], c["operator_verdict"]["verdict"],
                          c["operator_verdict"]["state_before"],
                          c["operator_verdict"]["label"]),
                         ("resolved", "not-deflection", "resolved", "none"))

        # The CLI shows the same document the API gives.
        for n in (1, 2, 3):
            p = cli("case", "-c", d.conf, "show", "--json", str(ids[f"cust{n}"]))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(json.loads(p.stdout), json.loads(d.get(f"/v1/cases/{ids[f'cust{n}']}")[1]))
        p = cli("case", "-c", d.conf, "show", str(ids["cust3"]))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"case {ids['cust3']}: closed\n", p.stdout)
        self.assertIn("operator verdict: escalated by api at ", p.stdout)
        self.assertIn("(the case was unresolved): to <legal> & co", p.stdout)
        self.assertRegex(p.stdout, r"  \S+Z  customer  escalation +still\n"
                                   r"      \[still waiting\], nobody answered\n"
                                   r"      post c3-e  https://twitter.com/x/status/39e\n")
        self.assertIn("so sorry <b>Jo</b>, [DM us]", p.stdout)
        self.assertRegex(p.stdout, r"dfl_[0-9a-f]+  deflection.escalated  \S+\n"
                                   r"      ops: delivered, 1 attempts\n")

        # The page: span marked, links to posts, everything escaped.
        code, ctype, page = self.request(f"/cases/{ids['cust1']}")
        self.assertEqual((code, ctype), (200, "text/html; charset=utf-8"))
        self.assertIn("@cust1 sorry, <mark>DM us</mark>", page)
        self.assertIn("thanks, all <mark>sorted</mark> now", page)
        self.assertIn('href="https://twitter.com/Acme/status/11"', page)
        self.assertIn('href="/brands/Acme"', page)
        self.assertIn('name="viewport"', page)
        self.assertNotRegex(page, r"(src|href)=\"(https?:)?//(?!twitter\.com)")
        code, _, page = self.request(f"/cases/{ids['cust3']}")
        self.assertEqual(code, 200)
        self.assertIn("so sorry &lt;b&gt;Jo&lt;/b&gt;, <mark>DM us</mark>", page)
        self.assertIn("to &lt;legal&gt; &amp; co", page)
        self.assertNotIn("javascript:", page)
        self.assertNotIn("<b>", page)
        # No link from the post's own javascript: URL, but its tweet id gives none either.
        self.assertIn("post c3-a (no link)", page)

    def test_bad_input_changes_nothing(self):
        d = self.daemon(window="1h").start()
        d.push(deflection(1))
        ids = self.wait_cases(1)
        id = ids["cust1"]
        for path, msg in (("/v1/cases/999999", "no case 999999"), ("/v1/cases/abc", "no case abc"),
                          ("/v1/cases/-1", "no case -1"), (f"/v1/cases/{id}/nothing",
                                                           "no such endpoint")):
            code, ctype, body = self.request(path)
            self.assertEqual((code, ctype), (404, "application/json"), path)
            self.assertEqual(json.loads(body), {"error": msg})
        self.assertEqual(self.request("/cases/999999")[0], 404)
        self.assertEqual(self.request(f"/v1/cases/{id}/verdict")[0], 405)
        ok = {"as": "resolved", "note": "fixed by phone"}
        self.assertEqual(self.verdict(id, ok, token=None)[0], 401)
        self.assertEqual(self.verdict(id, ok, token="wrong")[0], 401)
        for doc, code, msg in [
                ({"as": "fixed", "note": "x"}, 400, 'unknown verdict "fixed"'),
                ({"as": "resolved"}, 400, "needs a note"),
                ({"as": "resolved", "note": "  "}, 400, "needs a note"),
                ({"as": "resolved", "note": "x", "by": "me"}, 400, 'unknown field "by"'),
                ({"as": 1, "note": "x"}, 400, '"as" must be a string'),
                ({"as": "resolved", "note": "x" * 5000}, 400, "up to 4096 bytes")]:
            got, body = self.verdict(id, doc)
            self.assertEqual(got, code, doc)
            self.assertIn(msg, body["error"])
        code, _, body = self.request(f"/v1/cases/{id}/verdict", "not json")
        self.assertEqual(code, 400)
        self.assertIn("not JSON", json.loads(body)["error"])
        self.assertEqual(self.verdict(999999, ok), (404, {"error": "no case 999999"}))
        self.assertEqual(d.db("SELECT count(*) FROM case_verdicts"), [(0,)])
        self.assertEqual(d.db("SELECT state FROM cases"), [("deflected",)])

        p = cli("case", "-c", d.conf, "close", str(id), "--as", "fixed", "--note", "x")
        self.assertEqual(p.returncode, 2)
        self.assertIn('unknown verdict "fixed": use resolved, not-deflection or escalated',
                      p.stderr)
        p = cli("case", "-c", d.conf, "close", str(id), "--as", "resolved")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--note", p.stderr)
        p = cli("case", "-c", d.conf, "close", "424242", "--as", "resolved", "--note", "x")
        self.assertEqual((p.returncode, p.stderr), (1, "deflectd case: no case 424242\n"))
        p = cli("case", "-c", d.conf, "show", "424242")
        self.assertEqual((p.returncode, p.stderr), (1, "deflectd case: no case 424242\n"))
        self.assertEqual(cli("case", "-c", d.conf, "frobnicate", "1").returncode, 2)
        self.assertEqual(d.db("SELECT count(*) FROM case_verdicts"), [(0,)])

        # A second verdict on a case an operator closed is refused, by either path.
        self.assertEqual(self.verdict(id, ok)[0], 200)
        code, body = self.verdict(id, {"as": "not-deflection", "note": "changed my mind"})
        self.assertEqual(code, 409)
        self.assertRegex(body["error"], rf"^case {id} was already closed by an operator: "
                                        r"resolved by api at \S+Z$")
        p = cli("case", "-c", d.conf, "close", str(id), "--as", "escalated", "--note", "x")
        self.assertEqual(p.returncode, 1)
        self.assertIn("already closed by an operator: resolved by api", p.stderr)
        self.assertEqual(d.db("SELECT verdict, note FROM case_verdicts"),
                         [("resolved", "fixed by phone")])

    @unittest.skipUnless(shutil.which("chromium"), "chromium (Debian's package) not installed")
    def test_case_page_on_a_phone(self):
        """At 390 px the long deflecting reply wraps: its marked match, at the end of
        the text, is on screen."""
        d = self.daemon(window="1h").start()
        long = ("we are so sorry to hear about the trouble with your delivery and the "
                "missing parts of your order, which is not the experience we want anyone "
                "to have with us, so please DM us")
        d.push(deflection(1, text=long))
        ids = self.wait_cases(1)
        url = f"http://127.0.0.1:{d.port}/cases/{ids['cust1']}"
        shot = os.path.join(self.t.name, "case.png")
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--user-data-dir=" + os.path.join(self.t.name, "chromium"),
                 "--window-size=390,1200", "--hide-scrollbars"]
        dom = subprocess.run(["chromium", *flags, "--dump-dom", url], capture_output=True,
                             text=True, timeout=120)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        self.assertEqual(dom.stdout.count("<mark>DM us</mark>"), 1)
        self.assertEqual(dom.stdout.count('<a class="post"'), 1)
        p = subprocess.run(["chromium", *flags, "--screenshot=" + shot, url],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        rows = png_pixels(shot)
        self.assertEqual(len(rows[0]), 390)
        marked = [x for row in rows for x, px in enumerate(row) if px == (0xff, 0xe0, 0x8a)]
        self.assertGreater(len(marked), 50)  # the highlight is on screen, inside 390 px
        self.assertGreater(len({px for row in rows for px in row}), 20)


if __name__ == "__main__":
    unittest.main()
