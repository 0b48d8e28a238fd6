"""deflectd check, explain and test-rules, run as a user would."""
import json
import os
import unittest

from common import DATA, SRCDIR, post, run, tmpdir, write_posts, write_rules

RULES_DIR = os.path.join(SRCDIR, "rules")


class Check(unittest.TestCase):
    def test_shipped_rules_are_ok(self):
        rc, out, err = run("check", "--rules", RULES_DIR)
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("configuration OK"), out)

    def test_broken_rules_print_every_error(self):
        d = os.path.join(DATA, "rules")
        rc, out, err = run("check", "--rules", "syntax-errors", cwd=d)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        with open(os.path.join(d, "syntax-errors", "expected"), encoding="utf-8") as f:
            self.assertEqual(err, f.read())

    def test_examples_checked_at_load(self):
        d = os.path.join(DATA, "rules")
        rc, _, err = run("check", "--rules", "examples-fail", cwd=d)
        self.assertEqual(rc, 1)
        self.assertIn('examples-fail/a.rules:5:11: example does not match rule "dm-us"', err)

    def test_config_file(self):
        with tmpdir() as t:
            rules = write_rules(t, "[deflection dm]\npattern = \\bdm\\b\n")
            conf = os.path.join(t, "deflectd.conf")
            with open(conf, "w") as f:
                f.write("[daemon]\nrules_dir = rules   # relative to this file\nwindow = 24h\n"
                        "[brand acme]\ntwitter = AcmeSupport, @AcmeHelp\nwindow = 12h\n"
                        "[source recorded]\ntype = file\npath = /tmp/x.ndjson\n"
                        "[webhook ops]\nurl = http://127.0.0.1:9/\n")
            rc, out, err = run("check", "-c", conf)
            self.assertEqual(rc, 0, err)
            self.assertIn("configuration OK (1 rules", out)
            with open(conf, "a") as f:
                f.write("[daemon]\nwindow = forever\ncolour = blue\n[brand x]\nfacebook = y\n"
                        "[source s]\ntype = carrier-pigeon\n[source f]\ntype = file\n"
                        "[webhook w]\nformat = json\n")
            rc, out, err = run("check", "-c", conf)
            self.assertEqual(rc, 1)
            self.assertEqual(err.splitlines(), [
                conf + ':13:1: "window" is already set at line 3',
                conf + ':14:1: unknown key "colour" in [daemon]',
                conf + ':16:1: unknown key "facebook" in [brand x] (expected twitter, '
                'mastodon, bluesky, accounts or window)',
                conf + ':18:1: [source s]: type "carrier-pigeon" is not supported by this '
                'version (file, push, x, mastodon or bluesky)',
                conf + ':19:1: [source f] of type file needs a path',
                conf + ':21:1: [webhook w] needs a url',
            ])

    def test_check_reads_token_and_secrets_like_the_daemon(self):
        with tmpdir() as t:
            rules = write_rules(t, "[deflection dm]\npattern = \\bdm\\b\n")
            conf = os.path.join(t, "d.conf")
            with open(conf, "w") as f:
                f.write("[daemon]\nrules_dir = rules\nadmin_listen = 0.0.0.0:99999\n"
                        "admin_token_file = ./missing.token\n"
                        "[webhook w]\nurl = http://127.0.0.1:9/\nsecret = whsec_???\n")
            rc, out, err = run("check", "-c", conf)
            self.assertEqual(rc, 1)
            self.assertEqual(out, "")
            lines = err.splitlines()
            self.assertEqual(lines[0], conf + ':3:1: admin_listen "0.0.0.0:99999": expected '
                             'HOST:PORT with a port from 0 to 65535')
            self.assertTrue(lines[1].startswith(conf + ":4:1: admin_token_file: "), lines[1])
            self.assertIn("missing.token: No such file or directory", lines[1])
            self.assertTrue(lines[2].startswith(conf + ":5:1: [webhook w]: a secret in secret "
                                                "is not whsec_<base64>"), lines[2])

    def test_missing_rules_dir(self):
        rc, _, err = run("check", "--rules", "/nonexistent/rules.d")
        self.assertEqual(rc, 1)
        self.assertIn("/nonexistent/rules.d: cannot open rules directory", err)


class Explain(unittest.TestCase):
    def test_explain_shows_normalized_text_and_span(self):
        rc, out, err = run("explain", "--rules", RULES_DIR,
                           "@bob So sorry!&nbsp;Please\u00a0 DM   us your order number")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0], "normalized: @bob So sorry! Please DM us your order number")
        self.assertTrue(any("deflection" in l and "dm-request" in l and '"DM us"' in l
                            for l in lines), out)

    def test_explain_names_list_items(self):
        with tmpdir() as d:
            rules = write_rules(d, "[list thx]\nitem = thanks?\nitem = cheers\n"
                                   "[list ok]\nitem = sorted\nitem = working\\s+now\n"
                                   "[resolution fixed]\nby = any\n"
                                   "pattern = \\b{thx}\\b.{0,20}\\b{ok}\\b\n")
            rc, out, err = run("explain", "--rules", rules, "--by", "customer",
                               "Cheers mate, working now")
            self.assertEqual(rc, 0, err)
            self.assertIn('  list:     {thx} item "cheers" (%s/10-test.rules:3) matched "Cheers"'
                          % rules, out)
            self.assertIn('{ok} item "working\\s+now" (%s/10-test.rules:6) matched '
                          '"working now"' % rules, out)

    def test_check_reports_unknown_and_unused_lists(self):
        with tmpdir() as d:
            rules = write_rules(d, "[list thx]\nitem = thanks\n[list spare]\nitem = x\n"
                                   "[resolution r]\npattern = {thx}\\s+{nope}\n")
            rc, _, err = run("check", "--rules", rules)
            self.assertEqual(rc, 1)
            self.assertIn("%s/10-test.rules:3:7: list \"spare\" is never used" % rules, err)
            self.assertIn("%s/10-test.rules:6:19: unknown list \"nope\"" % rules, err)

    def test_explain_no_match_exits_1(self):
        rc, out, _ = run("explain", "--rules", RULES_DIR, "--by", "customer", "hello there")
        self.assertEqual(rc, 1)
        self.assertIn("no rule matched", out)


class TestRules(unittest.TestCase):
    def setUp(self):
        self.t = tmpdir()
        d = self.t.name
        self.rules = write_rules(d, "[deflection dm]\npattern = \\bdm\\s+us\\b\ntags = dm\n"
                                    "[deflection call]\npattern = \\bcall\\s+us\\b\n"
                                    "tags = channel\n"
                                    "[resolution fixed]\nby = any\npattern = \\bfixed\\b\n"
                                    "[escalation still]\nby = customer\n"
                                    "pattern = \\bstill\\b\n")
        self.posts = write_posts(d, [
            post("1", "please DM us", "2026-01-01T00:00:00Z", author="B", brand_flag=True),
            post("2", "please call us", "2026-01-01T00:00:01Z", author="B", brand_flag=True),
            post("3", "here is an answer", "2026-01-01T00:00:02Z", author="B", brand_flag=True),
            post("4", "fixed now", "2026-01-01T00:00:03Z", author="ann"),
            post("5", "DM us or call us", "2026-01-01T00:00:04Z", author="B", brand_flag=True),
            post("6", "still broken yesterday, fixed now", "2026-01-01T00:00:05Z",
                 author="ann"),
        ])
        self.labels = os.path.join(d, "labels.ndjson")
        with open(self.labels, "w") as f:
            for i, lab, unsure in (("1", "dm", False), ("2", "dm", False), ("3", "none", False),
                                   ("5", "channel", True), ("99", "dm", False)):
                f.write(json.dumps({"id": i, "brand": "B", "label": lab, "unsure": unsure})
                        + "\n")
            for i in ("4", "6"):
                f.write(json.dumps({"id": i, "conversation_id": "c1", "label": "resolution",
                                    "unsure": False}) + "\n")

    def tearDown(self):
        self.t.cleanup()

    def test_text_report(self):
        rc, out, err = run("test-rules", "--rules", self.rules, self.posts)
        self.assertEqual(rc, 0, err)
        self.assertIn("Posts: 6 (4 brand, 2 customer), 0 bad lines", out)
        self.assertRegex(out, r"\n\s+2\s+deflection dm\n")
        self.assertIn("| 1: please [DM us]", out)
        self.assertIn("Brand posts no deflection rule matched: 1", out)
        self.assertIn("3: here is an answer", out)

    def test_ndjson(self):
        rc, out, err = run("test-rules", "--rules", self.rules, "--format", "ndjson",
                           self.posts)
        self.assertEqual(rc, 0, err)
        rows = [json.loads(l) for l in out.splitlines()]
        self.assertEqual(len(rows), 6)
        self.assertEqual(rows[0], {"id": "1", "matches": [
            {"rule": "dm", "kind": "deflection", "tags": ["dm"], "span": [7, 12]}]})
        self.assertEqual([m["rule"] for m in rows[4]["matches"]], ["dm", "call"])
        self.assertEqual(rows[2]["matches"], [])

    def test_labels_scores_and_misses(self):
        rc, out, err = run("test-rules", "--rules", self.rules, "--labels", self.labels,
                           self.posts)
        self.assertEqual(rc, 0, err)
        self.assertIn("Labels: 6 (unsure left out), 1 with no post in the input", out)
        # dm: post 1 is a hit, post 2 (labelled dm) was predicted channel: a miss.
        self.assertRegex(out, r"dm\s+1\s+0\s+1\s+1\.0000\s+0\.5000\s+0\.6667")
        self.assertRegex(out, r"channel\s+0\s+1\s+0\s+0\.0000\s+1\.0000\s+0\.0000")
        self.assertRegex(out, r"dm\+channel\s+2\s+0\s+0\s+1\.0000\s+1\.0000\s+1\.0000")
        self.assertRegex(out, r"resolution\s+2\s+0\s+0\s+1\.0000\s+1\.0000\s+1\.0000")
        # Post 6 matches both; a case would record the resolution, so no
        # escalation is counted against it.
        self.assertRegex(out, r"escalation\s+0\s+0\s+0\s")
        self.assertIn("dm false negatives (1):\n  2 [dm by call] please call us", out)

    def test_min_f1_gate(self):
        rc, _, err = run("test-rules", "--rules", self.rules, "--labels", self.labels,
                         "--min-f1", "dm+channel=0.99", "--min-f1", "resolution=1", self.posts)
        self.assertEqual(rc, 0, err)
        rc, _, err = run("test-rules", "--rules", self.rules, "--labels", self.labels,
                         "--min-f1", "dm=0.9", self.posts)
        self.assertEqual(rc, 1)
        self.assertIn("dm F1 0.6667 is below 0.9000", err)


class TestRulesSplitAndCases(unittest.TestCase):
    """--split scores one half of the conversations; the case table holds the
    tracker's verdict per case against the labels of its conversation."""

    def setUp(self):
        self.t = tmpdir()
        d = self.t.name
        self.rules = write_rules(d, "[deflection dm]\npattern = \\bdm\\s+us\\b\ntags = dm\n"
                                    "[resolution fixed]\nby = any\npattern = \\bfixed\\b\n"
                                    "[escalation still]\nby = customer\n"
                                    "pattern = \\bstill\\b\n")
        # FNV-1a 32-bit: "c2" is even (fit), "c1" is odd (check).
        self.posts = write_posts(d, [
            post("f0", "my app is broken", "2026-01-01T00:00:00Z", author="ann", conv="c2"),
            post("f1", "please DM us", "2026-01-01T00:01:00Z", author="B", brand_flag=True,
                 conv="c2", reply="f0"),
            post("f2", "fixed now, thanks", "2026-01-01T00:02:00Z", author="ann", conv="c2",
                 reply="f1"),
            post("k0", "my card is broken", "2026-01-01T00:00:00Z", author="bob", conv="c1"),
            post("k1", "please DM us", "2026-01-01T00:01:00Z", author="B", brand_flag=True,
                 conv="c1", reply="k0"),
            post("k2", "still broken, but they called and it works", "2026-01-01T00:02:00Z",
                 author="bob", conv="c1", reply="k1"),
        ])
        self.labels = os.path.join(d, "labels.ndjson")
        with open(self.labels, "w") as f:
            for i in ("f1", "k1"):
                f.write(json.dumps({"id": i, "brand": "B", "label": "dm", "unsure": False})
                        + "\n")
            for i, conv in (("f2", "c2"), ("k2", "c1")):
                f.write(json.dumps({"id": i, "conversation_id": conv, "label": "resolution",
                                    "unsure": False}) + "\n")

    def tearDown(self):
        self.t.cleanup()

    def scores(self, *extra):
        rc, out, err = run("test-rules", "--rules", self.rules, "--labels", self.labels,
                           *extra, self.posts)
        self.assertEqual(rc, 0, err)
        return out

    def test_whole_set(self):
        out = self.scores()
        self.assertNotIn("Split:", out)
        self.assertRegex(out, r"dm\s+2\s+0\s+0\s")
        self.assertRegex(out, r"resolution\s+1\s+0\s+1\s")
        self.assertIn("Cases: 2 opened by the tracker, 2 with follow-up labels", out)
        self.assertRegex(out, r"resolved\s+1\s+0\s+1\s+1\.0000\s+0\.5000")
        self.assertRegex(out, r"escalated\s+0\s+1\s+0\s")
        self.assertIn("resolved in public but alerted as unresolved: 1 of 2 (50.0%)", out)

    def test_fit_half(self):
        out = self.scores("--split", "fit")
        self.assertIn("Split: fit half only (2 labels of the other half left out)", out)
        self.assertRegex(out, r"dm\s+1\s+0\s+0\s")
        self.assertRegex(out, r"resolution\s+1\s+0\s+0\s")
        self.assertIn("Cases: 1 opened by the tracker, 1 with follow-up labels", out)
        self.assertIn("resolved in public but alerted as unresolved: 0 of 1 (0.0%)", out)
        self.assertIn("0 with no post in the input", out)

    def test_check_half(self):
        out = self.scores("--split", "check")
        self.assertIn("Split: check half only (2 labels of the other half left out)", out)
        self.assertRegex(out, r"resolution\s+0\s+0\s+1\s")
        self.assertIn("resolved in public but alerted as unresolved: 1 of 1 (100.0%)", out)
        self.assertIn("resolution false negatives (1):\n  k2 [resolution] still broken", out)
        self.assertIn("escalation false positives (1):\n  k2 [resolution by still]", out)

    def test_min_f1_on_a_half(self):
        rc, _, err = run("test-rules", "--rules", self.rules, "--labels", self.labels,
                         "--split", "check", "--min-f1", "resolution=0.5", self.posts)
        self.assertEqual(rc, 1)
        self.assertIn("resolution F1 0.0000 is below 0.5000", err)
        rc, _, err = run("test-rules", "--rules", self.rules, "--labels", self.labels,
                         "--split", "fit", "--min-f1", "resolution=1", self.posts)
        self.assertEqual(rc, 0, err)

    def test_bad_split(self):
        rc, _, err = run("test-rules", "--rules", self.rules, "--split", "half", self.posts)
        self.assertEqual(rc, 2)
        self.assertIn("--split is fit or check", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
