"""The scorecard a care lead reads and the report an advocate publishes, on the
real daemon fed the corpus: paged and filtered listings, /v1/brands over a
period, read-only tokens, the pages in headless Chromium (DOM and
screenshots), and `deflectd report` against the API."""
import html
import json
import os
import re
import shutil
import sqlite3
import subprocess
import unittest
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

from common import CORPUS, DEFLECTD, SRCDIR, run, tmpdir
from daemon_harness import TOKEN, Daemon, post
from test_admin import png_pixels

RULES_DIR = os.path.join(SRCDIR, "rules")
CONVERSATIONS = os.path.join(CORPUS, "conversations.ndjson")
WEEK = 7 * 86400
MONDAY = 345600  # 1970-01-05
UNTIL = "2021-01-01T00:00:00Z"  # after the corpus: every window has passed by then


def shipped_rules():
    text = ""
    for name in sorted(os.listdir(RULES_DIR)):
        if name.endswith(".rules"):
            with open(os.path.join(RULES_DIR, name)) as f:
                text += f.read() + "\n"
    return text


def week_of(t):
    return t - (t - MONDAY) % WEEK


def unix(s):
    return int(datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp())


def chromium(tmp, *args, width=1280, height=2000):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--hide-scrollbars", "--user-data-dir=" + os.path.join(tmp, "chromium"),
             f"--window-size={width},{height}"]
    return subprocess.run(["chromium", *flags, *args], capture_output=True, text=True,
                          timeout=180)


@unittest.skipUnless(os.path.exists(CONVERSATIONS), "corpus not present")
class CorpusScorecard(unittest.TestCase):
    """One daemon fed the whole corpus, shared by the tests that only read."""

    @classmethod
    def setUpClass(cls):
        cls.t = tmpdir()
        # Alerts go to a port nobody listens on: they stay pending, listed. The
        # corpus is years old, so max_alert_age is off or it would hold them all.
        cls.d = Daemon(cls.t.name, window="72h", lateness="10m", rules=shipped_rules(),
                       extra="max_alert_age = 0s\n"
                             "[webhook nowhere]\nurl = http://127.0.0.1:1/\n"
                             "secret = whsec_c2NvcmVjYXJkLXRlc3Qtc2VjcmV0\n").start()
        with open(CONVERSATIONS) as f:
            lines = f.read().splitlines(True)
        for i in range(0, len(lines), 4000):
            code, res = cls.d.push(None, raw="".join(lines[i:i + 4000]))
            assert code == 200, res
        # Every corpus window ended years ago: wait until no case is left open.
        cls.d.wait_db("SELECT count(*) FROM cases WHERE state = 'deflected'", [(0,)], timeout=30)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        cls.t.cleanup()

    def getj(self, path, want=200):
        code, body = self.d.get(path)
        self.assertEqual(code, want, body)
        return json.loads(body)

    def walk(self, path, key, limit):
        seen, cursor, pages = [], None, 0
        while True:
            sep = "&" if "?" in path else "?"
            q = f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
            doc = self.getj(q)
            self.assertLessEqual(len(doc[key]), limit)
            seen += doc[key]
            pages += 1
            cursor = doc["next_cursor"]
            if cursor is None:
                return seen, pages
            self.assertEqual(len(doc[key]), limit)  # only the last page is short

    def test_paging_walks_every_case_once(self):
        rc, out, _ = run("replay", "--rules", RULES_DIR, CONVERSATIONS, timeout=300)
        self.assertEqual(rc, 0)
        replayed = sum(1 for line in out.splitlines() if json.loads(line)["type"] == "deflection")
        # 1,809 with the pack this test was written against; the rule pack moves it.
        self.assertGreater(replayed, 1500)
        self.assertEqual(self.d.db("SELECT count(*) FROM cases"), [(replayed,)])
        for limit in (1000, 137):
            cases, pages = self.walk("/v1/cases", "cases", limit)
            ids = [c["id"] for c in cases]
            self.assertEqual(len(ids), replayed)
            self.assertEqual(len(set(ids)), replayed)  # exactly once
            self.assertEqual(pages, -(-replayed // limit))
            keys = [(c["deflected_at"], c["id"]) for c in cases]
            self.assertEqual(keys, sorted(keys, reverse=True))  # newest first
        self.assertEqual(len(self.getj("/v1/cases")["cases"]), 100)  # the default limit
        for bad in ("0", "1001", "ten"):
            self.assertEqual(self.d.get(f"/v1/cases?limit={bad}")[0], 400)
        code, body = self.d.get("/v1/cases?cursor=bm90LW91cnM")
        self.assertEqual(code, 400)
        self.assertIn("cursor", json.loads(body)["error"])

    def test_every_case_filter(self):
        db = self.d.db
        brand, customer, rule = db("SELECT brand, customer, rule FROM cases"
                                   " WHERE state = 'resolved' ORDER BY rowid LIMIT 1")[0]
        checks = {
            f"brand={brand}": ("brand = ?", (brand,)),
            "state=resolved": ("state = 'resolved'", ()),
            "state=resolved,unresolved": ("state IN ('resolved', 'unresolved')", ()),
            f"customer={customer}": ("customer = ?", (customer,)),
            f"rule={rule}": ("rule = ?", (rule,)),
            "since=2020-01-01T00:00:00Z": ("deflected_at >= 1577836800", ()),
            "until=2017-11-01T00:00:00Z": ("deflected_at < 1509494400", ()),
            "since=1509494400&until=2017-11-02T00:00:00Z":
                ("deflected_at >= 1509494400 AND deflected_at < 1509580800", ()),
            f"brand={brand}&state=unresolved&since=2017-01-01T00:00:00Z":
                ("brand = ? AND state = 'unresolved' AND deflected_at >= 1483228800", (brand,)),
        }
        for q, (where, args) in checks.items():
            want = {r[0] for r in db(f"SELECT rowid FROM cases WHERE {where}", args)}
            self.assertTrue(want, q)
            got, _ = self.walk("/v1/cases?" + q.replace(",", "%2C"), "cases", 1000)
            self.assertEqual({c["id"] for c in got}, want, q)
        self.assertEqual(self.getj("/v1/cases?brand=NoSuchBrand")["cases"], [])
        code, body = self.d.get("/v1/cases?state=open")
        self.assertEqual(code, 400)
        self.assertIn("open", json.loads(body)["error"])
        self.assertEqual(self.d.get("/v1/cases?since=yesterday")[0], 400)

    def test_unknown_parameters_are_named(self):
        for path in ("/v1/cases", "/v1/alerts", "/v1/brands"):
            code, body = self.d.get(path + "?colour=red&brand_name=x")
            self.assertEqual(code, 400, path)
            err = json.loads(body)["error"]
            self.assertIn("colour", err)
            self.assertIn("brand_name", err)
        code, body = self.d.get("/v1/brands?limit=5")  # a listing's parameter, not this one's
        self.assertEqual(code, 400)
        self.assertIn("limit", json.loads(body)["error"])

    def test_alert_listing_filters_and_paging(self):
        db = self.d.db
        total = db("SELECT count(*) FROM deliveries")[0][0]
        self.assertGreater(total, 1000)
        alerts, _ = self.walk("/v1/alerts", "alerts", 500)
        self.assertEqual(len(alerts), total)
        self.assertEqual(len({a["id"] for a in alerts}), total)
        brand, customer, rule = db(
            "SELECT json_extract(body, '$.case.brand'), json_extract(body, '$.case.customer'),"
            " json_extract(body, '$.deflection.rule') FROM outbox"
            " WHERE type = 'deflection.escalated' LIMIT 1")[0]
        for q, where, args in (
                (f"brand={brand}", "json_extract(o.body, '$.case.brand') = ?", (brand,)),
                (f"customer={customer}", "json_extract(o.body, '$.case.customer') = ?",
                 (customer,)),
                (f"rule={rule}", "json_extract(o.body, '$.deflection.rule') = ?", (rule,)),
                ("type=deflection.escalated", "o.type = 'deflection.escalated'", ()),
                ("state=pending", "d.state = 'pending'", ())):
            want = {r[0] for r in db("SELECT d.alert_id FROM deliveries d JOIN outbox o"
                                     f" ON o.id = d.alert_id WHERE {where}", args)}
            self.assertTrue(want, q)
            got, _ = self.walk("/v1/alerts?" + q, "alerts", 1000)
            self.assertEqual({a["id"] for a in got}, want, q)
        self.assertEqual(self.getj("/v1/alerts?state=dead")["alerts"], [])
        self.assertEqual(self.getj("/v1/alerts?until=2000-01-01T00:00:00Z")["alerts"], [])
        self.assertEqual(self.d.get("/v1/alerts?state=sent")[0], 400)

    def expected_brands(self, since, until):
        """The scorecard computed here from the raw tables, for comparison."""
        db = self.d.db
        out = {}
        for brand, n in db("SELECT brand, sum(replies) FROM brand_reply_times"
                           " WHERE at >= ? AND at < ? GROUP BY brand", (since, until)):
            out.setdefault(brand, {"replies": 0, "cases": []})["replies"] = n
        for brand, state, ttr, esc in db(
                "SELECT brand, state, resolved_at - deflected_at, escalations FROM cases"
                " WHERE deflected_at >= ? AND deflected_at < ?", (since, until)):
            out.setdefault(brand, {"replies": 0, "cases": []})["cases"].append((state, ttr, esc))
        return out

    def test_brands_over_a_period(self):
        for since, until in ((0, 2 ** 62), (unix("2017-10-01T00:00:00Z"), unix("2017-11-01T00:00:00Z")),
                             (unix("2020-03-01T00:00:00Z"), unix("2020-04-01T00:00:00Z"))):
            got = self.getj(f"/v1/brands?since={since}&until={until}")["brands"]
            want = self.expected_brands(since, until)
            self.assertEqual([b["brand"] for b in got], sorted(want, key=lambda b: (b.lower(), b)))
            nulls = 0
            for b in got:
                w = want[b["brand"]]
                resolved = sum(1 for s, _, _ in w["cases"] if s in ("resolved", "resolved_late"))
                decided = resolved + sum(1 for s, _, _ in w["cases"] if s == "unresolved")
                self.assertEqual(b["replies"], w["replies"])
                self.assertEqual(b["deflections"], len(w["cases"]))
                self.assertEqual(b["resolved_in_public"], resolved)
                self.assertEqual(b["decided"], decided)
                self.assertEqual(b["escalations"], sum(e for _, _, e in w["cases"]))
                # A rate with nothing to divide by is null, never 0.
                if w["replies"]:
                    self.assertAlmostEqual(b["deflection_rate"], len(w["cases"]) / w["replies"])
                else:
                    self.assertIsNone(b["deflection_rate"])
                if decided:
                    self.assertAlmostEqual(b["public_resolution_rate"], resolved / decided)
                else:
                    self.assertIsNone(b["public_resolution_rate"])
                    nulls += 1
                ttrs = sorted(t for _, t, _ in w["cases"] if t is not None)
                self.assertEqual(b["median_time_to_resolution"],
                                 ttrs[(len(ttrs) + 1) // 2 - 1] if ttrs else None)
            self.assertGreater(nulls, 0)  # the corpus has brands that never deflected
        self.assertEqual(self.getj("/v1/brands?since=2030-01-01T00:00:00Z")["brands"], [])

    @unittest.skipUnless(shutil.which("chromium"), "chromium (Debian's package) not installed")
    def test_pages_in_headless_chromium(self):
        base = f"http://127.0.0.1:{self.d.port}"
        shots = os.environ.get("DEFLECTD_SCREENS")  # keep copies of the screenshots there
        brands = self.getj("/v1/brands")["brands"]
        dom = chromium(self.t.name, "--dump-dom", base + "/")
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        page = dom.stdout
        body = page.split("<body>")[1]
        self.assertNotRegex(body, r"(src|href)=\"https?:")  # nothing fetched from elsewhere
        # The trend: one point per week from the first week with data to the last.
        times = [t for (t,) in self.d.db("SELECT deflected_at FROM cases UNION ALL"
                                         " SELECT at FROM brand_reply_times WHERE at > 0")]
        first, last = week_of(min(times)), week_of(max(times))
        weeks = re.findall(r'<g class="week" data-week="(\d{4}-\d\d-\d\d)">', page)
        self.assertEqual(len(weeks), (last - first) // WEEK + 1)
        self.assertEqual([unix(w + "T00:00:00Z") for w in weeks],
                         list(range(first, last + 1, WEEK)))
        self.assertGreater(page.count('class="pt-d"'), 50)
        # Brands sorted ignoring case, as the API lists them, and all of them.
        rows = re.findall(r'<tr class="brand" data-brand="([^"]*)">(.*?)</tr>', page)
        names = [html.unescape(n) for n, _ in rows]
        self.assertEqual(names, sorted(names, key=lambda n: (n.lower(), n)))
        self.assertEqual(names, [b["brand"] for b in brands])
        self.assertNotEqual(names, sorted(names))  # byte order would differ on this corpus
        # Empty rates are a dash with a reason, never 0%.
        dashes = 0
        for (name, cells), b in zip(rows, brands):
            tds = re.findall(r"<td[^>]*>(.*?)</td>", cells)
            for col, key in ((3, "deflection_rate"), (4, "public_resolution_rate")):
                if b[key] is None:
                    self.assertIn('class="na" title="No ', tds[col])
                    self.assertIn("\u2013", tds[col])
                    self.assertNotIn("%", tds[col])
                    dashes += 1
                else:
                    self.assertIn(f"{100 * b[key]:.1f}%", tds[col])
        self.assertGreater(dashes, 20)
        # The table's sorting script at least parses.
        if shutil.which("node"):
            js = os.path.join(self.t.name, "sort.js")
            with open(js, "w") as f:
                f.write(re.search(r"<script>(.*?)</script>", page, re.S).group(1))
            p = subprocess.run(["node", "--check", js], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
        # Links work: every brand page answers, the period selector too.
        links = re.findall(r'href="(/brands/[^"#?]+)"', page)
        self.assertEqual(len(links), len(brands))
        for link in links:
            self.assertEqual(self.d.get(link)[0], 200, link)
        for period in ("7d", "30d", "90d", "all"):
            self.assertIn(f'href="/?period={period}"' if period != "all" else
                          'aria-current="page">All time', page)
            self.assertEqual(self.d.get(f"/?period={period}")[0], 200)
        self.assertEqual(self.d.get("/?period=1y")[0], 400)
        # A brand page: its open and unresolved cases, paged, each linking to its case.
        brand = max(brands, key=lambda b: b["unresolved"])["brand"]
        url = f"{base}/brands/{urllib.parse.quote(brand)}"
        dom = chromium(self.t.name, "--dump-dom", url)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        bpage = dom.stdout
        self.assertIn(html.escape(brand) + ": deflection scorecard", bpage)
        case_links = re.findall(r'<a href="(/cases/[^"]*)">', bpage)
        self.assertEqual(len(case_links), 50)  # a page of them
        open_ids = {r[0] for r in self.d.db("SELECT rowid FROM cases WHERE brand = ? AND state"
                                           " IN ('deflected', 'unresolved')", (brand,))}
        self.assertGreater(len(open_ids), 50)
        for link in case_links:
            m = re.fullmatch(r"/cases/(\d+)", link)
            self.assertIsNotNone(m, link)
            self.assertIn(int(m.group(1)), open_ids)
        for link in case_links[:5]:  # the case pages answer
            code, body = self.d.get(link)
            self.assertEqual(code, 200, link)
            self.assertIn("<html", body)
        nxt = re.search(r'id="next-page" rel="next" href="([^"]+)"', bpage)
        self.assertIsNotNone(nxt)
        code, page2 = self.d.get(html.unescape(nxt.group(1)).split("#")[0])
        self.assertEqual(code, 200)
        ids2 = re.findall(r'<a href="/cases/(\d+)">', page2)
        self.assertTrue(ids2)
        self.assertFalse(set(ids2) & {link.split("/")[-1] for link in case_links})
        self.assertEqual(self.d.get("/brands/NoSuchBrand")[0], 404)
        # Screenshots at desktop and phone widths, each with content and the chart's colours.
        for name, target in (("scorecard", base + "/"), ("brand", url)):
            for width in (1280, 390):
                shot = os.path.join(self.t.name, f"{name}-{width}.png")
                p = chromium(self.t.name, "--screenshot=" + shot, target, width=width,
                             height=2400 if width == 390 else 1600)
                self.assertEqual(p.returncode, 0, p.stderr[-2000:])
                pixels = png_pixels(shot)
                self.assertEqual(len(pixels[0]), width)
                colours = {px for row in pixels for px in row}
                self.assertGreater(len(colours), 50, shot)
                self.assertIn((0xc0, 0x39, 0x2b), colours, shot)  # deflection rate
                if name == "scorecard":
                    self.assertIn((0x1e, 0x84, 0x49), colours, shot)  # resolved in public
                # Not blank: rows of the page's lower half still hold text and lines.
                busy = sum(1 for row in pixels if len(set(row)) > 3)
                self.assertGreater(busy, len(pixels) // 4, shot)
                if shots:
                    os.makedirs(shots, exist_ok=True)
                    shutil.copy(shot, shots)

    def test_report_equals_the_api_and_is_deterministic(self):
        out = [os.path.join(self.t.name, f"report{i}.html") for i in (1, 2)]
        for o in out:
            rc, _, err = run("report", "--rules", RULES_DIR, "--until", UNTIL, "-o", o,
                             CONVERSATIONS, timeout=300)
            self.assertEqual(rc, 0, err)
        with open(out[0], "rb") as a, open(out[1], "rb") as b:
            first = a.read()
            self.assertEqual(first, b.read())  # the same bytes twice
        page = first.decode()
        self.assertNotRegex(page, r"(src|href)=")  # one self-contained file
        self.assertIn('<svg class="trend"', page)
        self.assertIn('id="methods"', page)
        self.assertIn("sha256:", page)
        self.assertIn(CONVERSATIONS, page)
        api = self.getj("/v1/brands?until=" + UNTIL)["brands"]
        rows = re.findall(r'<tr class="brand" data-brand="([^"]*)">(.*?)</tr>', page)
        self.assertEqual([html.unescape(n) for n, _ in rows], [b["brand"] for b in api])
        for (_, cells), b in zip(rows, api):
            v = re.findall(r'<td data-v="([^"]*)"', cells)
            self.assertEqual(int(v[1]), b["replies"])
            self.assertEqual(int(v[2]), b["deflections"])
            for i, k in ((3, "deflection_rate"), (4, "public_resolution_rate")):
                self.assertEqual(None if v[i] == "" else float(v[i]), b[k], b["brand"])
            self.assertEqual(None if v[5] == "" else int(v[5]), b["median_time_to_resolution"])
            self.assertEqual([int(x) for x in v[6:9]], [b["open"], b["unresolved"],
                                                        b["escalations"]])
        # CSV and JSON carry the same numbers, over a period too.
        since = "2017-10-01T00:00:00Z"
        api = self.getj(f"/v1/brands?since={since}&until={UNTIL}")["brands"]
        rc, out_json, err = run("report", "--rules", RULES_DIR, "--since", since, "--until", UNTIL,
                                "--format", "json", CONVERSATIONS, timeout=300)
        self.assertEqual(rc, 0, err)
        doc = json.loads(out_json)
        self.assertEqual(doc["brands"], api)
        self.assertEqual(doc["period"]["since"], since)
        self.assertEqual(doc["totals"]["deflections"], sum(b["deflections"] for b in api))
        rc, csv, err = run("report", "--rules", RULES_DIR, "--since", since, "--until", UNTIL,
                           "--format", "csv", CONVERSATIONS, timeout=300)
        self.assertEqual(rc, 0, err)
        lines = csv.splitlines()
        self.assertEqual(lines[0].split(",")[:3], ["brand", "replies", "deflections"])
        self.assertEqual(len(lines), len(api) + 2)
        self.assertEqual(lines[1].split(",")[:3],
                         [api[0]["brand"], str(api[0]["replies"]), str(api[0]["deflections"])])


class ReadToken(unittest.TestCase):
    """A read token reads the page, the API and /metrics, and changes nothing."""

    def setUp(self):
        self.t = tmpdir()
        with open(os.path.join(self.t.name, "read.tokens"), "w") as f:
            f.write("# care team dashboards\nread-token-aaaaaaaaaaaa\n\nread-token-bbbbbbbbbbbb\n")
        # 0.0.0.0: not loopback, so every read needs a token (the test still talks to 127.0.0.1).
        self.d = Daemon(self.t.name, extra="admin_read_token_file = read.tokens\n")
        with open(self.d.conf) as f:
            conf = f.read()
        with open(self.d.conf, "w") as f:
            f.write(conf.replace("admin_listen = 127.0.0.1:0", "admin_listen = 0.0.0.0:0"))
        self.d.start(expect_ready=False)
        self.d.port = int(self.d.wait_log(r"admin listening on 0\.0\.0\.0 port (\d+)").group(1))
        self.d.wait_note("READY=1")

    def tearDown(self):
        self.d.stop()
        self.t.cleanup()

    def request(self, path, token=None, data=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.d.port}{path}", data=data,
                                     method="POST" if data is not None else "GET")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def test_read_token_reads_but_cannot_push(self):
        posts = [post("q1", "my order is broken", author="cust1"),
                 post("a1", "@cust1 sorry, DM us", author="Acme", brand=True, reply="q1")]
        body = "".join(json.dumps(p) + "\n" for p in posts).encode()
        for reader in ("read-token-aaaaaaaaaaaa", "read-token-bbbbbbbbbbbb"):
            code, text = self.request("/v1/posts", reader, body)
            self.assertEqual(code, 403, text)
            self.assertIn("only read", json.loads(text)["error"])
        self.assertEqual(self.d.db("SELECT count(*) FROM cases"), [(0,)])
        self.assertEqual(self.request("/v1/posts", None, body)[0], 401)
        self.assertEqual(self.request("/v1/posts", "wrong-token", body)[0], 401)
        code, text = self.request("/v1/posts", TOKEN, body)  # the push token still works
        self.assertEqual(code, 200, text)
        self.d.wait_db("SELECT count(*) FROM cases", [(1,)])
        for path in ("/", "/v1/cases", "/v1/alerts", "/v1/brands", "/metrics", "/brands/Acme"):
            self.assertEqual(self.request(path)[0], 401, path)
            self.assertEqual(self.request(path, "not-a-token")[0], 401, path)
            for reader in ("read-token-aaaaaaaaaaaa", "read-token-bbbbbbbbbbbb", TOKEN):
                code, text = self.request(path, reader)
                self.assertEqual(code, 200, (path, text))
        code, text = self.request("/v1/cases", "read-token-bbbbbbbbbbbb")
        self.assertEqual([c["customer"] for c in json.loads(text)["cases"]], ["cust1"])
        # Nor can a read token change a case: a verdict needs the admin token.
        case_id = json.loads(text)["cases"][0]["id"]
        verdict = json.dumps({"as": "resolved", "note": "by a reader"}).encode()
        code, text = self.request(f"/v1/cases/{case_id}/verdict", "read-token-aaaaaaaaaaaa",
                                  verdict)
        self.assertEqual(code, 403, text)
        self.assertEqual(self.d.db("SELECT state FROM cases"), [("deflected",)])
        code, text = self.request(f"/v1/cases/{case_id}", "read-token-aaaaaaaaaaaa")
        self.assertEqual(code, 200, text)
        # The comment line of the token file is not a token.
        self.assertEqual(self.request("/v1/cases", "# care team dashboards")[0], 401)

    def test_check_refuses_a_read_file_holding_the_push_token(self):
        with open(os.path.join(self.t.name, "read.tokens"), "a") as f:
            f.write(TOKEN + "\n")
        rc, out, err = run("check", "-c", self.d.conf)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("admin_read_token_file", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
