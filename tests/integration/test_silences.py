"""Silences against the real daemon and a local webhook receiver: added with
the CLI (straight into the state database) or the admin API while the daemon
runs, they keep exactly the alerts they match from every webhook (recorded,
with the silence's id), end on time or when expired, survive a reload and a
restart, and refuse bad input without changing anything."""
import json
import os
import signal
import subprocess
import time
import unittest
import urllib.error
import urllib.request

from common import DEFLECTD, Receiver, tmpdir
from daemon_harness import TOKEN, Daemon, post


def deflection(n, cust=None, brand="Acme"):
    conv, cust = f"c{n}", cust or f"cust{n}"
    return [post(f"{conv}-q", "my order is broken", author=cust, conv=conv),
            post(f"{conv}-a", f"@{cust} sorry, DM us", author=brand, brand=True, conv=conv,
                 reply=f"{conv}-q")]


class Silences(unittest.TestCase):
    def setUp(self):
        self.t = tmpdir()
        self.rx = Receiver()
        self.d = Daemon(self.t.name, window="1s", extra=(
            f"[webhook ops]\nurl = {self.rx.url}\nretry_base = 1s\nretry_max = 2s\n"))

    def tearDown(self):
        self.d.stop()
        self.rx.close()
        self.t.cleanup()

    def cli(self, *args):
        p = subprocess.run([DEFLECTD, "silence", "-c", self.d.conf, *args],
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr

    def api(self, method, path, doc=None, token=TOKEN, raw=None):
        body = raw if raw is not None else (json.dumps(doc).encode() if doc is not None else None)
        req = urllib.request.Request(f"http://127.0.0.1:{self.d.port}{path}", data=body,
                                     method=method)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def customers_sent(self):
        return sorted(json.loads(r["body"])["case"]["customer"] for r in self.rx.requests)

    def states(self):
        """customer -> (delivery state, reason, silence id) of its unresolved alert."""
        rows = self.d.db("SELECT json_extract(o.body, '$.case.customer'), d.state, d.reason,"
                         " o.silence_id FROM outbox o JOIN deliveries d ON d.alert_id = o.id"
                         " WHERE o.type = 'deflection.unresolved'")
        return {r[0]: r[1:] for r in rows}

    def wait_alerts(self, n, timeout=15):
        self.d.wait_db("SELECT count(*) FROM deliveries WHERE state IN "
                       "('delivered', 'silenced')", [(n,)], timeout=timeout)

    def test_a_silence_stops_exactly_what_it_matches(self):
        # Added by the CLI and through the API while the daemon runs: no reload needed.
        self.d.start()
        rc, out, err = self.cli("add", "customer=cust1", "--duration", "1h",
                                "--comment", "known false positive", "--author", "ann")
        self.assertEqual(rc, 0, err)
        sil1 = out.strip()
        self.assertRegex(sil1, r"^sil_[0-9a-f]{16}$")
        self.d.push(deflection(1) + deflection(2))
        self.wait_alerts(2)
        code, doc = self.api("POST", "/v1/silences", {
            "matchers": {"conversation": "c3", "platform": "twitter"},
            "duration": "1h", "comment": "handled by phone", "author": "bob"})
        self.assertEqual(code, 201, doc)
        sil2 = doc["id"]
        self.assertEqual(doc["state"], "active")
        self.assertEqual(doc["matchers"], {"conversation": "c3", "platform": "twitter"})
        # All matchers must hold: a mastodon-only silence of c4 leaves c4's twitter case alone.
        code, doc = self.api("POST", "/v1/silences", {
            "matchers": {"conversation": "c4", "platform": "mastodon"},
            "duration": "1h", "comment": "other platform", "author": "bob"})
        self.assertEqual(code, 201, doc)
        self.d.push(deflection(3) + deflection(4))
        self.wait_alerts(4)
        st = self.states()
        self.assertEqual(st["cust1"], ("silenced", f"silenced by {sil1}", sil1))
        self.assertEqual(st["cust3"], ("silenced", f"silenced by {sil2}", sil2))
        self.assertEqual(st["cust2"][0], "delivered")
        self.assertEqual(st["cust4"][0], "delivered")
        time.sleep(1.5)
        self.assertEqual(self.customers_sent(), ["cust2", "cust4"])
        # A rule or tag matcher takes every alert of that rule: cust5's too.
        code, doc = self.api("POST", "/v1/silences", {
            "matchers": {"tag": "dm", "brand": "acme"}, "duration": "1h",
            "comment": "dm rule under review", "author": "ann"})
        self.assertEqual(code, 201, doc)
        self.d.push(deflection(5))
        self.wait_alerts(5)
        self.assertEqual(self.states()["cust5"][0], "silenced")
        # Recorded and visible: alerts list names the silence; /metrics counts them.
        p = subprocess.run([DEFLECTD, "alerts", "-c", self.d.conf, "list", "--state",
                            "silenced"], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = p.stdout.splitlines()[1:]
        self.assertEqual(len(rows), 3, p.stdout)
        self.assertTrue(any(r.endswith(f"\tsilenced by {sil1}") for r in rows), rows)
        code, body = self.d.get("/metrics")
        self.assertIn('deflectd_alerts_held_total{reason="silenced"} 3', body)
        self.assertIn('deflectd_silences{state="active"} 4', body)
        with open(self.d.conf) as f, open(self.d.conf + ".status", "w") as g:
            g.write(f.read().replace("127.0.0.1:0", f"127.0.0.1:{self.d.port}"))
        p = subprocess.run([DEFLECTD, "status", "-c", self.d.conf + ".status"],
                           capture_output=True, text=True, timeout=30)
        self.assertIn("alerts not sent: 3 silenced, 0 too old, 0 deliveries grouped into "
                      "digests; 4 silences active\n", p.stdout, p.stderr)
        code, body = self.d.get("/v1/alerts?state=silenced")
        self.assertEqual(code, 200)
        alerts = json.loads(body)["alerts"]
        self.assertEqual(len(alerts), 3)
        self.assertIn(sil2, {a["silence_id"] for a in alerts})
        # The case in full names the silence that held its alert back; cust2's names none.
        (cid1,), = self.d.db("SELECT rowid FROM cases WHERE customer = 'cust1'")
        (cid2,), = self.d.db("SELECT rowid FROM cases WHERE customer = 'cust2'")
        code, doc = self.api("GET", f"/v1/cases/{cid1}")
        self.assertEqual(code, 200, doc)
        self.assertEqual([s["id"] for s in doc["silences"]], [sil1])
        self.assertEqual(doc["silences"][0]["comment"], "known false positive")
        unresolved = [a for a in doc["alerts"] if a["type"] == "deflection.unresolved"]
        self.assertEqual(unresolved[0]["silence_id"], sil1)
        self.assertEqual(unresolved[0]["deliveries"][0]["reason"], f"silenced by {sil1}")
        code, doc = self.api("GET", f"/v1/cases/{cid2}")
        self.assertEqual((code, doc["silences"]), (200, []))
        self.assertEqual(self.customers_sent(), ["cust2", "cust4"])

    def test_silences_end_on_time_and_when_expired(self):
        self.d.start()
        rc, out, err = self.cli("add", "customer=cust2", "--duration", "1h", "--comment", "c")
        self.assertEqual(rc, 0, err)
        by_cli = out.strip()
        code, by_api = self.api("POST", "/v1/silences", {
            "matchers": {"customer": "cust3"}, "duration": "1h", "comment": "c",
            "author": "ann"})
        self.assertEqual(code, 201)
        created = time.monotonic()
        code, short = self.api("POST", "/v1/silences", {
            "matchers": {"customer": "cust1"}, "duration": "8s", "comment": "c",
            "author": "ann"})
        self.assertEqual(code, 201, short)
        self.d.push(deflection(1) + deflection(2) + deflection(3))
        self.wait_alerts(3)
        self.assertEqual({k: v[0] for k, v in self.states().items()},
                         {"cust1": "silenced", "cust2": "silenced", "cust3": "silenced"})
        # Expired by hand (CLI and API), and the 8s one by its end.
        rc, out, err = self.cli("expire", by_cli)
        self.assertEqual((rc, out), (0, f"silence {by_cli} expired\n"), err)
        code, doc = self.api("DELETE", f"/v1/silences/{by_api['id']}")
        self.assertEqual((code, doc["state"]), (200, "expired"))
        time.sleep(max(0, created + 8.2 - time.monotonic()))  # short ends 8s after it began
        code, doc = self.api("GET", "/v1/silences?state=expired")
        self.assertEqual(sorted(s["id"] for s in doc["silences"]),
                         sorted([short["id"], by_cli, by_api["id"]]))
        self.d.push(deflection(11, "cust1") + deflection(12, "cust2") + deflection(13, "cust3"))
        self.rx.wait(3)
        self.assertEqual(self.customers_sent(), ["cust1", "cust2", "cust3"])
        # Expiring again is a conflict, not a silent success.
        code, doc = self.api("DELETE", f"/v1/silences/{by_api['id']}")
        self.assertEqual(code, 409, doc)
        rc, out, err = self.cli("expire", by_cli)
        self.assertEqual(rc, 1)
        self.assertIn("already ended", err)

    def test_silences_survive_reload_and_restart(self):
        # Added by the CLI while the daemon is down.
        self.d.start()
        self.d.stop()
        rc, out, err = self.cli("add", "brand=acme", "rule=dm", "--duration", "1h",
                                "--comment", "maintenance", "--author", "ann")
        self.assertEqual(rc, 0, err)
        sil = out.strip()
        self.d.start()
        n = len(self.d.notes)
        self.d.signal(signal.SIGHUP)
        self.d.wait_log(r"reloaded: \d+ rules")
        self.d.push(deflection(1))
        self.wait_alerts(1)
        self.d.stop()
        self.d.start()
        self.d.push(deflection(2))
        self.wait_alerts(2)
        self.assertEqual({k: v[2] for k, v in self.states().items()}, {"cust1": sil, "cust2": sil})
        code, doc = self.api("GET", "/v1/silences")
        self.assertEqual([(s["id"], s["state"], s["author"]) for s in doc["silences"]],
                         [(sil, "active", "ann")])
        rc, out, err = self.cli("list")
        self.assertEqual(rc, 0, err)
        self.assertIn(f"{sil}\tactive\tbrand=acme,rule=dm\t", out)
        time.sleep(1)
        self.assertEqual(self.rx.requests, [])
        self.assertGreater(len(self.d.notes), n)

    def test_bad_input_is_refused_and_changes_nothing(self):
        self.d.start()
        cases = [
            (("add", "colour=red", "--duration", "1h", "--comment", "c"),
             'unknown field "colour"'),
            (("add", "customer=ann", "--start", "2026-12-10T00:00:00Z",
              "--end", "2026-12-09T00:00:00Z", "--comment", "c"), "not after starts_at"),
            (("add", "customer=ann", "--duration", "1h"), "comment: required"),
            (("add", "--duration", "1h", "--comment", "c"), "matchers: required"),
            (("add", "customer", "--duration", "1h", "--comment", "c"), "not FIELD=VALUE"),
            (("add", "customer=ann", "--duration", "soon", "--comment", "c"), "duration"),
            (("add", "customer=ann", "--end", "2001-01-01T00:00:00Z", "--comment", "c"),
             "in the past"),
            (("expire", "sil_0000000000000000"), "no silence sil_0000000000000000"),
        ]
        for args, msg in cases:
            rc, out, err = self.cli(*args)
            self.assertEqual(rc, 1, (args, out, err))
            self.assertIn(msg, err, args)
        good = {"matchers": {"customer": "ann"}, "duration": "1h", "comment": "c",
                "author": "ann"}
        bad = [
            (dict(good, matchers={"colour": "red"}), 'unknown field \\"colour\\"'),
            (dict(good, matchers={}), "matchers"),
            ({k: v for k, v in good.items() if k != "duration"} |
             {"starts_at": "2026-12-10T00:00:00Z", "ends_at": "2026-12-09T00:00:00Z"},
             "not after starts_at"),
            (dict(good, ends_at="2030-01-01T00:00:00Z"), "not both"),
            (dict(good, starts_at="yesterday"), "starts_at"),
            (dict(good, author=""), "author"),
            (dict(good, note="x"), 'unknown key \\"note\\"'),
        ]
        for doc, msg in bad:
            code, answer = self.api("POST", "/v1/silences", doc)
            self.assertEqual(code, 400, (doc, answer))
            self.assertIn(msg, json.dumps(answer), doc)
        code, answer = self.api("POST", "/v1/silences", raw=b"{not json")
        self.assertEqual(code, 400)
        self.assertIn("not JSON", answer["error"])
        code, answer = self.api("POST", "/v1/silences", good, token="wrong")
        self.assertEqual(code, 401)
        code, answer = self.api("POST", "/v1/silences", good, token=None)
        self.assertEqual(code, 401)
        code, answer = self.api("DELETE", "/v1/silences/sil_0000000000000000")
        self.assertEqual(code, 404)
        self.assertIn("no silence sil_0000000000000000", answer["error"])
        code, answer = self.api("GET", "/v1/silences?state=gone")
        self.assertEqual(code, 400)
        code, answer = self.api("GET", "/v1/silences?stat=active")
        self.assertEqual(code, 400)
        self.assertIn("unknown parameter: stat", answer["error"])
        self.assertEqual(self.d.db("SELECT count(*) FROM silences"), [(0,)])
        # And nothing was silenced by any of it.
        self.d.push(deflection(1))
        self.rx.wait(1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
