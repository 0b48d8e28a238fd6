"""/metrics of the real daemon as an operator's Prometheus sees it:
deflectd_build_info, brand labels bounded by the config, every state at 0,
process_* metrics, counters that survive SIGHUP, the shipped alerting rules
(promtool) and the Grafana dashboard, each of whose queries must name
metrics the daemon exports."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import unittest

from common import DEFLECTD, SRCDIR, Receiver, tmpdir
from daemon_harness import Daemon, iso, post

EXAMPLES = os.path.join(SRCDIR, "examples")


def parse(text):
    """{'name{labels}': value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def names(text):
    return {re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
            for line in text.splitlines() if line and not line.startswith("#")}


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def thread(n, brand_account, at):
    """A complaint and a deflection; a configured account's post does not say it is a brand's."""
    conv = f"c{n}"
    answer = post(f"{conv}-a", f"@cust{n} sorry, DM us", author=brand_account, brand=True,
                  conv=conv, reply=f"{conv}-q", at=at)
    if brand_account == "AcmeSupport":
        del answer["author_is_brand"]
    return [post(f"{conv}-q", "my order is broken", author=f"cust{n}", conv=conv, at=at), answer]


class Metrics(unittest.TestCase):
    def setUp(self):
        self.t = tmpdir()
        self.rx = Receiver()
        # A brand, a webhook that alerts at once, and a network source (its
        # server is a closed local port) so every family of series shows.
        extra = ("alert_detected = yes\n"
                 "[brand acme]\ntwitter = AcmeSupport\n"
                 "[brand globex]\ntwitter = GlobexHelp\n"
                 f"[source sky]\ntype = bluesky\nurl = http://127.0.0.1:{closed_port()}\n"
                 "poll_interval = 1h\n"
                 f"[webhook ops]\nurl = {self.rx.url}\nretry_base = 1s\n")
        self.d = Daemon(self.t.name, extra=extra).start()

    def tearDown(self):
        self.d.stop()
        self.rx.close()
        self.t.cleanup()

    def metrics(self):
        code, text = self.d.get("/metrics")
        self.assertEqual(code, 200)
        return text

    def wait_metric(self, key, want, timeout=15):
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            got = parse(self.metrics()).get(key)
            if got == want:
                return
            time.sleep(0.05)
        self.fail(f"{key} = {got}, wanted {want}")

    def test_build_info_brands_states_process_and_no_reset_on_reload(self):
        before = time.time()
        at = iso(-60)
        # AcmeSupport is a configured brand account; "Initech" is a brand only
        # because the post says so, so it is counted as _other.
        self.assertEqual(self.d.push(thread(1, "AcmeSupport", at) + thread(2, "Initech", at))[0],
                         200)
        self.wait_metric('deflectd_alert_deliveries{type="deflection.detected",state="delivered",'
                         'brand="acme"}', 1)
        self.wait_metric('deflectd_alert_deliveries{type="deflection.detected",state="delivered",'
                         'brand="_other"}', 1)
        text = self.metrics()
        p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True) if shutil.which("promtool") else None
        if p is not None:
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        m = parse(text)

        # build_info: the version --version prints, and the libraries' versions.
        version = subprocess.run([DEFLECTD, "--version"], capture_output=True, text=True,
                                 check=True).stdout.splitlines()[0].split()[1]
        info = [k for k in m if k.startswith("deflectd_build_info{")]
        self.assertEqual(len(info), 1, info)
        self.assertEqual(m[info[0]], 1)
        self.assertIn(f'version="{version}"', info[0])
        for lib in ("pcre2", "libcurl", "libevent", "sqlite", "jansson"):
            self.assertRegex(info[0], lib + r'="[0-9]')

        # Brand labels: the configured brands and _other, nothing else.
        self.assertEqual(m['deflectd_findings_total{type="deflection",brand="acme"}'], 1)
        self.assertEqual(m['deflectd_findings_total{type="deflection",brand="_other"}'], 1)
        self.assertEqual(m['deflectd_findings_total{type="deflection",brand="globex"}'], 0)
        self.assertEqual(m['deflectd_cases{state="deflected",brand="acme"}'], 1)
        self.assertEqual(m['deflectd_cases{state="deflected",brand="_other"}'], 1)
        brands = set(re.findall(r'brand="([^"]*)"', text))
        self.assertEqual(brands, {"acme", "globex", "_other"})
        # Every state, 0 included, for every brand label.
        for b in brands:
            for s in ("deflected", "resolved", "unresolved", "resolved_late", "closed"):
                self.assertIn(f'deflectd_cases{{state="{s}",brand="{b}"}}', m)
            for s in ("pending", "delivered", "dead"):
                self.assertIn(f'deflectd_alert_deliveries{{type="deflection.unresolved",'
                              f'state="{s}",brand="{b}"}}', m)
        self.assertEqual(m['deflectd_cases{state="resolved",brand="acme"}'], 0)

        # process_* as the Prometheus client libraries export them.
        self.assertLessEqual(abs(m["process_start_time_seconds"] - before), 30)
        self.assertGreater(m["process_resident_memory_bytes"], 1 << 20)
        fds = len(os.listdir(f"/proc/{self.d.proc.pid}/fd"))
        self.assertLessEqual(abs(m["process_open_fds"] - fds), 3)
        self.assertGreater(m["process_max_fds"], 0)

        # A reload (even one that changes the rules) keeps every counter.
        counters = {k: v for k, v in m.items()
                    if k.split("{")[0] in ("deflectd_rule_matches_total",
                                           "deflectd_findings_total",
                                           "deflectd_webhook_attempts_total",
                                           "deflectd_regex_match_limit_hits_total")
                    or k.startswith("deflectd_webhook_request_duration_seconds")}
        self.assertEqual(counters['deflectd_rule_matches_total{rule="dm",kind="deflection"}'], 2)
        self.assertEqual(counters['deflectd_webhook_request_duration_seconds_count{webhook="ops"}'],
                         2)
        self.assertEqual(
            counters['deflectd_webhook_attempts_total{webhook="ops",outcome="delivered"}'], 2)
        with open(os.path.join(self.d.rules, "20-more.rules"), "w") as f:
            f.write("[escalation nothing]\npattern = \\bnobody\\s+answered\\b\n"
                    "example = nobody answered\n")
        self.d.signal(signal.SIGHUP)
        self.wait_metric('deflectd_reloads_total{result="success"}', 1)
        after = parse(self.metrics())
        for k, v in counters.items():
            self.assertEqual(after.get(k), v, k)
        self.assertEqual(after['deflectd_rule_matches_total{rule="nothing",kind="escalation"}'], 0)
        # ... and they go on counting from there.
        self.d.push(thread(3, "AcmeSupport", at))
        self.wait_metric('deflectd_rule_matches_total{rule="dm",kind="deflection"}', 3)
        self.wait_metric('deflectd_webhook_request_duration_seconds_count{webhook="ops"}', 3)
        self.assertEqual(
            parse(self.metrics())['deflectd_findings_total{type="deflection",brand="acme"}'], 2)

    def test_dashboard_queries_name_exported_metrics(self):
        self.d.push(thread(1, "AcmeSupport", iso(-60)))
        self.wait_metric('deflectd_webhook_request_duration_seconds_count{webhook="ops"}', 1)
        exported = names(self.metrics())
        with open(os.path.join(EXAMPLES, "grafana-dashboard.json")) as f:
            dash = json.load(f)
        exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
        for v in dash.get("templating", {}).get("list", []):
            q = v.get("query")
            if isinstance(q, dict):
                exprs.append(q["query"])
        self.assertGreater(len(exprs), 10)
        functions = {"sum", "rate", "increase", "histogram_quantile", "topk", "time",
                     "label_values", "avg", "max", "min", "count"}
        keywords = {"by", "without", "and", "or", "unless", "on", "ignoring", "bool"}
        seen = set()
        for e in exprs:
            # Drop label matchers, ranges, strings and grouping lists: what is left
            # are functions, keywords and metric names.
            s = re.sub(r'"[^"]*"', "", e)
            s = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", s)
            s = re.sub(r"\b(by|without)\s*\([^)]*\)", "", s)
            s = re.sub(r"label_values\(([^,)]*),[^)]*\)", r"\1", s)
            for name in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", s):
                if name in functions or name in keywords:
                    continue
                seen.add(name)
                self.assertIn(name, exported, f"{name} in {e!r} is not in /metrics")
        self.assertIn("deflectd_findings_total", seen)
        self.assertIn("process_resident_memory_bytes", seen)

    @unittest.skipUnless(shutil.which("promtool"), "promtool (Debian's prometheus) not installed")
    def test_alerting_rules_pass_promtool(self):
        p = subprocess.run(["promtool", "check", "rules",
                            os.path.join(EXAMPLES, "prometheus-alerts.yml")],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("SUCCESS", p.stdout)
        # They fire per brand on the series deflectd exports (promtool's unit tests).
        p = subprocess.run(["promtool", "test", "rules", "prometheus-alerts.test.yml"],
                           capture_output=True, text=True, cwd=EXAMPLES)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # Each alert's metrics, like the dashboard's, are ones deflectd exports.
        exported = names(self.metrics()) | {"up"}
        with open(os.path.join(EXAMPLES, "prometheus-alerts.yml")) as f:
            for name in re.findall(r"\b(deflectd_[a-z_]+|process_[a-z_]+)", f.read()):
                self.assertIn(name, exported)


if __name__ == "__main__":
    unittest.main()
