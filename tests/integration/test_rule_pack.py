"""The shipped rule pack, scored against the hand labels of the dev corpus.

Fails when a change to the rules (or to the normalizer or matcher) makes
detection worse than the targets of the rule pack: dm F1 >= 0.99, dm or channel
F1 >= 0.92, resolution F1 >= 0.85, escalation F1 >= 0.80.
"""
import os
import re
import unittest

from common import CORPUS, SRCDIR, run

RULES_DIR = os.path.join(SRCDIR, "rules")
POSTS = ("conversations.ndjson", "brand-replies.ndjson")
LABELS = ("labels-deflection-dev.ndjson", "labels-followup-dev.ndjson")
TARGETS = (("dm", "0.99"), ("dm+channel", "0.92"), ("resolution", "0.85"),
           ("escalation", "0.80"))


def corpus_files():
    paths = [os.path.join(CORPUS, f) for f in POSTS + LABELS]
    return paths if all(os.path.exists(p) for p in paths) else None


class RulePack(unittest.TestCase):
    def test_shipped_rules_load(self):
        rc, out, err = run("check", "--rules", RULES_DIR)
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("configuration OK"), out)

    def test_f1_targets_on_dev_labels(self):
        if corpus_files() is None:
            self.skipTest("corpus not present")
        args = ["test-rules", "--rules", RULES_DIR, "--list", "10"]
        for f in LABELS:
            args += ["--labels", os.path.join(CORPUS, f)]
        for cls, f1 in TARGETS:
            args += ["--min-f1", "%s=%s" % (cls, f1)]
        args += [os.path.join(CORPUS, f) for f in POSTS]
        rc, out, err = run(*args, timeout=300)
        # On failure, show the score table and the misses, not the whole report.
        report = out[out.find("Labels:"):] if "Labels:" in out else out
        self.assertEqual(rc, 0, "test-rules --min-f1 failed:\n%s\n%s" % (err, report))
        self.assertIn("0 with no post in the input", out)
        for cls, f1 in TARGETS:
            m = re.search(r"^\s*%s\s+\d+\s+\d+\s+\d+\s+[\d.]+\s+[\d.]+\s+([\d.]+)\s*$"
                          % re.escape(cls), out, re.M)
            self.assertIsNotNone(m, "no score line for %s in:\n%s" % (cls, report))
            self.assertGreaterEqual(float(m.group(1)), float(f1), report)

    def test_gate_fails_below_target(self):
        """The --min-f1 gate really bites: a target above the measured F1 exits 1."""
        if corpus_files() is None:
            self.skipTest("corpus not present")
        rc, _, err = run("test-rules", "--rules", RULES_DIR,
                         "--labels", os.path.join(CORPUS, LABELS[0]),
                         "--min-f1", "channel=1",
                         *[os.path.join(CORPUS, f) for f in POSTS], timeout=300)
        self.assertEqual(rc, 1, err)
        self.assertIn("channel F1 0.9", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
