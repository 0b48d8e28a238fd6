"""deflectd replay end to end: golden output, determinism, bad input, lateness."""
import json
import os
import time
import unittest

from common import (CORPUS, DATA, SRCDIR, findings, post, run, tmpdir, write_posts,
                    write_rules)

RULES = """
[deflection dm]
pattern = \\bdm\\s+us\\b
tags = dm
[resolution fixed]
by = any
pattern = \\b(fixed|sorted)\\b
unless = \\bnot\\b
[escalation still]
pattern = \\bstill\\s+(waiting|broken)\\b
"""


class Golden(unittest.TestCase):
    def test_golden_output(self):
        """A fixed rule set over a fixed recording gives exactly the reviewed findings."""
        d = os.path.join(DATA, "replay")
        rc, out, err = run("replay", "--rules", os.path.join(d, "rules"), "--drain",
                           os.path.join(d, "posts.ndjson"))
        self.assertEqual(rc, 0, err)
        with open(os.path.join(d, "expected.ndjson"), encoding="utf-8") as f:
            expected = f.read()
        self.assertEqual(out, expected)

    def test_demo_covers_every_finding_type(self):
        rc, out, err = run("replay", "--rules", os.path.join(SRCDIR, "rules"), "--drain",
                           os.path.join(SRCDIR, "examples", "demo.ndjson"))
        self.assertEqual(rc, 0, err)
        types = {f["type"] for f in findings(out)}
        self.assertEqual(types, {"deflection", "repeat_deflection", "escalation",
                                 "resolution", "unresolved", "resolved_late"})
        self.assertIn("0 bad lines", err)

    def test_stdin_matches_file(self):
        d = os.path.join(DATA, "replay")
        with open(os.path.join(d, "posts.ndjson"), encoding="utf-8") as f:
            data = f.read()
        rc, out, err = run("replay", "--rules", os.path.join(d, "rules"), "--drain", "-",
                           stdin=data)
        self.assertEqual(rc, 0, err)
        with open(os.path.join(d, "expected.ndjson"), encoding="utf-8") as f:
            self.assertEqual(out, f.read())


class Semantics(unittest.TestCase):
    def replay(self, posts, *args):
        with tmpdir() as t:
            rules = write_rules(t, RULES)
            path = write_posts(t, posts)
            rc, out, err = run("replay", "--rules", rules, *args, path)
            self.assertEqual(rc, 0, err)
            return findings(out), err

    def test_window_passes_then_late_resolution(self):
        fs, _ = self.replay([
            post("1", "help", "2026-01-01T00:00:00Z", author="ann"),
            post("2", "@ann sorry, DM us", "2026-01-01T00:01:00Z", author="Brand",
                 brand_flag=True, reply="1"),
            post("3", "@Brand still waiting", "2026-01-01T05:00:00Z", author="ann", reply="2"),
            post("9", "unrelated", "2026-01-02T00:00:00Z", author="x", conv="c9"),
            post("4", "@Brand ok it's fixed", "2026-01-02T01:00:00Z", author="ann", reply="2"),
        ], "--window", "1h")
        # The escalation comes after the deadline, so the case is unresolved by then.
        self.assertEqual([f["type"] for f in fs],
                         ["deflection", "unresolved", "escalation", "resolved_late"])
        self.assertEqual(fs[0]["customer"], "ann")
        self.assertEqual(fs[0]["span"], [12, 17])
        self.assertEqual(fs[0]["match"], "DM us")
        self.assertEqual(fs[1]["at"], "2026-01-01T01:01:00Z")
        self.assertEqual(fs[2]["escalations"], 1)
        self.assertEqual(fs[2]["state"], "unresolved")
        self.assertEqual(fs[3]["time_to_resolution"], 89940)
        self.assertEqual(fs[3]["state"], "resolved_late")

    def test_replies_without_conversation_join_their_parents(self):
        def bare(*a, **kw):
            p = post(*a, **kw)
            del p["conversation_id"]
            return p
        fs, _ = self.replay([
            bare("1", "help", "2026-01-01T00:00:00Z", author="ann"),
            bare("2", "@ann sorry, DM us", "2026-01-01T00:01:00Z", author="Brand",
                 brand_flag=True, reply="1"),
            bare("3", "@Brand still waiting", "2026-01-01T00:05:00Z", author="ann", reply="2"),
            bare("4", "@ann all sorted now", "2026-01-01T00:09:00Z", author="Brand",
                 brand_flag=True, reply="3"),
        ])
        # Linked only by in_reply_to_id, the thread is one case under its root.
        self.assertEqual([f["type"] for f in fs], ["deflection", "escalation", "resolution"])
        self.assertEqual({f["conversation_id"] for f in fs}, {"1"})

    def test_out_of_order_within_lateness(self):
        """A resolution that arrives before its deflection but is later in event time counts."""
        fs, err = self.replay([
            post("1", "help", "2026-01-01T00:00:00Z", author="ann"),
            post("3", "@Brand fixed, thanks", "2026-01-01T00:05:00Z", author="ann", reply="2"),
            post("2", "@ann DM us", "2026-01-01T00:01:00Z", author="Brand", brand_flag=True,
                 reply="1"),
        ], "--lateness", "10m", "--drain")
        self.assertEqual([f["type"] for f in fs], ["deflection", "resolution"])
        self.assertIn("0 late", err)

    def test_beyond_lateness_is_counted_late(self):
        fs, err = self.replay([
            post("1", "help", "2026-01-01T00:00:00Z", author="ann"),
            post("9", "other", "2026-01-01T03:00:00Z", author="x", conv="c9"),
            post("2", "@ann DM us", "2026-01-01T00:01:00Z", author="Brand", brand_flag=True,
                 reply="1"),
        ], "--lateness", "10m", "--window", "1h")
        self.assertIn("1 late", err)
        # The late deflection's window has passed on the clock already.
        self.assertEqual([f["type"] for f in fs], ["deflection", "unresolved"])

    def test_sort_handles_recordings_grouped_by_conversation(self):
        posts = [
            post("1", "help", "2026-01-01T00:00:00Z", author="ann"),
            post("2", "@ann DM us", "2026-01-01T00:01:00Z", author="B", brand_flag=True,
                 reply="1"),
            post("3", "fixed", "2026-01-03T00:00:00Z", author="ann", reply="2"),
            post("11", "help", "2026-01-02T00:00:00Z", author="bo", conv="c2"),
            post("12", "@bo DM us", "2026-01-02T00:01:00Z", author="B", brand_flag=True,
                 conv="c2", reply="11"),
            post("13", "sorted", "2026-01-02T00:30:00Z", author="bo", conv="c2", reply="12"),
        ]
        fs, _ = self.replay(posts, "--sort")
        self.assertEqual(sorted(f["type"] for f in fs),
                         ["deflection", "deflection", "resolution", "resolution"])

    def test_brands_flag_marks_authors(self):
        posts = [post("1", "help", "2026-01-01T00:00:00Z", author="ann"),
                 post("2", "@ann DM us", "2026-01-01T00:01:00Z", author="AcmeHelp",
                      reply="1")]
        for p in posts:
            del p["author_is_brand"]
        fs, _ = self.replay(posts)
        self.assertEqual(fs, [])
        fs, _ = self.replay(posts, "--brands", "@acmehelp,Other")
        self.assertEqual([(f["type"], f["brand"], f["customer"]) for f in fs],
                         [("deflection", "acmehelp", "ann")])

    def test_duplicate_posts_count_once(self):
        p = [post("1", "help", "2026-01-01T00:00:00Z", author="ann"),
             post("2", "@ann DM us", "2026-01-01T00:01:00Z", author="B", brand_flag=True,
                  reply="1")]
        fs, err = self.replay(p + [p[1]])
        self.assertEqual([f["type"] for f in fs], ["deflection"])
        self.assertIn("1 duplicates", err)


class BadInput(unittest.TestCase):
    def test_bad_lines_are_reported_and_skipped(self):
        with tmpdir() as t:
            rules = write_rules(t, RULES)
            good1 = json.dumps(post("1", "help", "2026-01-01T00:00:00Z", author="ann"))
            good2 = json.dumps(post("2", "@ann DM us", "2026-01-01T00:01:00Z", author="B",
                                    brand_flag=True, reply="1"))
            lines = [
                good1,
                "this is not json",
                '{"id": "5", "author": "a", "created_at": "2026-01-01T00:00:00Z"}',
                '{"id": "6", "author": "a", "created_at": "yesterday", "text": "x"}',
                "[1, 2]",
                "",
                '{"id": "7", "author": "a", "created_at": "2026-01-01T00:00:00Z", "text": "'
                + "x" * 300 + '"}',
                good2,
            ]
            path = write_posts(t, lines)
            rc, out, err = run("replay", "--rules", rules, "--max-line", "200", path)
            self.assertEqual(rc, 0)
            errs = [l for l in err.splitlines() if l.startswith(path)]
            self.assertEqual(len(errs), 5, err)
            self.assertTrue(errs[0].startswith(path + ":2: not JSON"), errs[0])
            self.assertEqual(errs[1], path + ':3: missing field "text"')
            self.assertTrue(errs[2].startswith(path + ':4: bad created_at "yesterday"'),
                            errs[2])
            self.assertEqual(errs[3], path + ":5: not a JSON object")
            self.assertEqual(errs[4], path + ":7: line longer than 200 bytes")
            self.assertIn("2 posts, 5 bad lines", err)
            self.assertEqual([f["type"] for f in findings(out)], ["deflection"])

    def test_missing_file_and_bad_options(self):
        rc, _, err = run("replay", "--rules", os.path.join(SRCDIR, "rules"), "/nonexistent")
        self.assertEqual(rc, 1)
        self.assertIn("/nonexistent", err)
        rc, _, err = run("replay", "--window", "soon", "x")
        self.assertEqual(rc, 2)
        self.assertIn('bad duration "soon"', err)

    def test_catastrophic_regex_does_not_stall(self):
        with tmpdir() as t:
            rules = write_rules(t, "[deflection evil]\npattern = ^(\\w+\\s?)+$\n"
                                   "[deflection dm]\npattern = \\bdm\\s+us\\b\n")
            text = "dm us " + "a" * 5000 + "!"
            posts = [post(str(i), text, "2026-01-01T00:00:%02dZ" % i, author="B",
                          brand_flag=True, conv="c%d" % i, reply="p%d" % i) for i in range(50)]
            path = write_posts(t, posts)
            start = time.monotonic()
            rc, out, err = run("replay", "--rules", rules, path, timeout=60)
            self.assertEqual(rc, 0, err)
            self.assertIn("50 regex match-limit hits", err)
            # The sane rule still ran on every post (mention-less, so no case opens).
            self.assertIn("50 deflection", err.split("matches:")[1])
            self.assertLess(time.monotonic() - start, 30)


class Determinism(unittest.TestCase):
    def test_corpus_twice_byte_identical_and_every_type(self):
        path = os.path.join(CORPUS, "conversations.ndjson")
        if not os.path.exists(path):
            self.skipTest("corpus not present")
        args = ("replay", "--rules", os.path.join(SRCDIR, "rules"), "--sort", "--drain", path)
        rc1, out1, err1 = run(*args, timeout=300)
        rc2, out2, err2 = run(*args, timeout=300)
        self.assertEqual(rc1, 0, err1)
        self.assertEqual(rc2, 0, err2)
        self.assertEqual(out1, out2)
        self.assertIn(" 0 bad lines", err1)
        types = {f["type"] for f in findings(out1)}
        self.assertEqual(types, {"deflection", "repeat_deflection", "escalation",
                                 "resolution", "unresolved", "resolved_late"})


if __name__ == "__main__":
    unittest.main(verbosity=2)
