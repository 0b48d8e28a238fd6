"""The admin API of the real daemon: readiness, Prometheus metrics (checked
by promtool), case, alert and brand listings, and `deflectd status`."""
import json
import os
import shutil
import subprocess
import time
import unittest
import urllib.request

from common import DEFLECTD, tmpdir
from daemon_harness import Daemon, post


def thread(n, brand="Acme", resolve=False):
    conv = f"c{n}"
    ps = [post(f"{conv}-q", "my order is broken", author=f"cust{n}", conv=conv),
          post(f"{conv}-a", f"@cust{n} sorry, DM us", author=brand, brand=True, conv=conv,
               reply=f"{conv}-q")]
    if resolve:
        ps.append(post(f"{conv}-r", "@Acme all sorted now", author=f"cust{n}", conv=conv,
                       reply=f"{conv}-a"))
    return ps


def png_pixels(path):
    """Decodes an 8-bit RGB or RGBA PNG (what Chromium writes) into rows of (r, g, b)."""
    import struct
    import zlib
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, rows, prev = zlib.decompress(idat), [], bytearray(width * bpp)
    stride = width * bpp + 1
    for y in range(len(raw) // stride):
        f, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return rows


class Admin(unittest.TestCase):
    def setUp(self):
        self.t = tmpdir()
        self.d = Daemon(self.t.name, window="1h").start()

    def tearDown(self):
        self.d.stop()
        self.t.cleanup()

    def getj(self, path):
        code, body = self.d.get(path)
        self.assertEqual(code, 200)
        return json.loads(body)

    def test_listings_and_scorecard(self):
        self.d.push(thread(1, resolve=True) + thread(2) + thread(3) +
                    [post("x1", "@someone here is how to reset it", author="Acme", brand=True,
                          conv="x")])
        self.d.wait_db("SELECT count(*) FROM cases", [(3,)])
        self.assertEqual(self.d.get("/readyz"), (200, "ready\n"))
        cases = self.getj("/v1/cases?state=deflected")["cases"]
        self.assertEqual(sorted(c["conversation_id"] for c in cases), ["c2", "c3"])
        self.assertEqual(cases[0]["brand"], "Acme")
        self.assertEqual([c["state"] for c in self.getj("/v1/cases?state=resolved")["cases"]],
                         ["resolved"])
        self.assertEqual(self.getj("/v1/cases?brand=Nobody")["cases"], [])
        # A mistyped state is an error, not an empty list.
        self.assertEqual(self.d.get("/v1/cases?state=open")[0], 400)
        self.assertEqual(self.d.get("/v1/alerts?state=sent")[0], 400)
        self.assertEqual(self.getj("/v1/alerts?state=dead")["alerts"], [])
        brands = self.getj("/v1/brands")["brands"]
        self.assertEqual(len(brands), 1)
        b = brands[0]
        # 4 brand replies, 3 of them deflections; 1 of 1 decided case resolved in public.
        self.assertEqual((b["brand"], b["replies"], b["deflections"]), ("Acme", 4, 3))
        self.assertAlmostEqual(b["deflection_rate"], 0.75)
        self.assertAlmostEqual(b["public_resolution_rate"], 1.0)
        self.assertEqual(b["median_time_to_resolution"], 0)
        self.assertEqual(self.getj("/v1/alerts")["alerts"], [])

    @unittest.skipUnless(shutil.which("promtool"), "promtool (Debian's prometheus) not installed")
    def test_metrics_pass_promtool(self):
        self.d.push(thread(1))
        self.d.push(None, raw="not json\n")
        self.d.wait_db("SELECT count(*) FROM cases", [(1,)])
        code, text = self.d.get("/metrics")
        self.assertEqual(code, 200)
        p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('deflectd_posts_total{source="push"} 2\n', text)
        self.assertIn('deflectd_parse_errors_total{source="push"} 1\n', text)
        # "Acme" has no [brand] section here, so its series carry brand="_other".
        self.assertIn('deflectd_cases{state="deflected",brand="_other"} 1\n', text)
        self.assertIn('deflectd_cases{state="resolved",brand="_other"} 0\n', text)
        self.assertIn('deflectd_rule_matches_total{rule="dm",kind="deflection"} 1\n', text)
        self.assertIn('deflectd_findings_total{type="deflection",brand="_other"} 1\n', text)
        self.assertIn('deflectd_reloads_total{result="success"} 0\n', text)

    @unittest.skipUnless(shutil.which("chromium"), "chromium (Debian's package) not installed")
    def test_scorecard_page_in_headless_chromium(self):
        self.d.push(thread(1, resolve=True) + thread(2) + thread(3, brand="Globex<b>"))
        self.d.wait_db("SELECT count(*) FROM cases", [(3,)])
        code, html = self.d.get("/")
        self.assertEqual(code, 200)
        self.assertNotIn("http", html.split("<body>")[1].split("</body>")[0])  # no assets
        self.assertIn("Globex&lt;b&gt;", html)
        shot = os.path.join(self.t.name, "scorecard.png")
        profile = os.path.join(self.t.name, "chromium")
        url = f"http://127.0.0.1:{self.d.port}/"
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--user-data-dir=" + profile, "--window-size=1000,1400"]
        dom = subprocess.run(["chromium", *flags, "--dump-dom", url], capture_output=True,
                             text=True, timeout=120)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        self.assertEqual(dom.stdout.count('<tr class="brand"'), 2)
        # Three rates with a bar; Globex's open case is not decided yet: a dash, not 0%.
        self.assertEqual(dom.stdout.count('class="bar"'), 3)
        self.assertEqual(dom.stdout.count('class="na" title="No deflected case was decided'), 1)
        p = subprocess.run(["chromium", *flags, "--screenshot=" + shot, url], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        rows = png_pixels(shot)
        colours = {px for row in rows for px in row}
        # The page rendered: text, and the red deflection and green resolution bars.
        self.assertIn((0xc0, 0x39, 0x2b), colours)
        self.assertIn((0x1e, 0x84, 0x49), colours)
        self.assertGreater(len(colours), 20)

    def test_status_command(self):
        self.d.push(thread(1, resolve=True) + thread(2))
        self.d.wait_db("SELECT count(*) FROM cases", [(2,)])
        conf = self.d.conf
        with open(conf) as f:
            text = f.read()
        # status reads admin_listen from the config: point it at the running port.
        with open(conf, "w") as f:
            f.write(text.replace("127.0.0.1:0", f"127.0.0.1:{self.d.port}"))
        p = subprocess.run([DEFLECTD, "status", "-c", conf], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertTrue(lines[0].endswith(": ready"), p.stdout)
        self.assertIn("cases: 1 deflected, 0 unresolved, 1 resolved, 0 resolved late", lines)
        self.assertRegex(p.stdout, r"\nAcme\s+2\s+2\s+100\.0%\s+100\.0%\s+0h00m\s+0\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
