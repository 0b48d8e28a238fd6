"""The shipped rule pack, scored against the hand labels of the dev corpus.

Fails when a change to the rules (or to the normalizer or matcher) makes
detection worse than the targets of the rule pack, on the full dev set (all
four label files) and on its check half (`test-rules --split check`, the
conversations rules are not to be read from), so a rule that only fits the
wording of the examples it was written from fails here.
"""
import os
import re
import unittest

from common import CORPUS, SRCDIR, run

RULES_DIR = os.path.join(SRCDIR, "rules")
POSTS = ("conversations.ndjson", "brand-replies.ndjson")
LABELS = ("labels-deflection-dev.ndjson", "labels-followup-dev.ndjson",
          "labels-deflection-dev-r2.ndjson", "labels-followup-dev-r2.ndjson")
TARGETS = (("dm", "0.99"), ("dm+channel", "0.96"), ("resolution", "0.88"),
           ("escalation", "0.82"))
# The check half: F1 floors, precision floors, and the share of cases resolved
# in public that the tracker finds.
CHECK_TARGETS = (("dm", "0.99"), ("dm+channel", "0.96"), ("resolution", "0.88"),
                 ("escalation", "0.80"))
CHECK_PRECISION = (("dm", 0.93), ("dm+channel", 0.93), ("resolution", 0.93),
                   ("escalation", 0.85))
CHECK_CASES_RESOLVED_FOUND = 0.85
# The check half's round-2 labels: no rule of this pack or of the one before
# it was read from them (round 1 was, on both halves), so they say best how
# the rules do on conversations nobody tuned for. The pack before issue 16
# scored resolution 0.500 and escalation 0.489 there.
CHECK_R2_TARGETS = (("dm+channel", "0.90"), ("resolution", "0.62"), ("escalation", "0.58"))
SCORE = r"^\s*%s\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$"


def corpus_files():
    paths = [os.path.join(CORPUS, f) for f in POSTS + LABELS]
    return paths if all(os.path.exists(p) for p in paths) else None


class RulePack(unittest.TestCase):
    def test_shipped_rules_load(self):
        rc, out, err = run("check", "--rules", RULES_DIR)
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("configuration OK"), out)

    # One test-rules run per half, shared by the tests below (each run reads
    # the whole corpus, which takes a while under the sanitizers).
    runs = {}

    def run_half(self, half):
        """test-rules over the dev corpus: half None (full set), "fit", "check", or
        "check-r2" (the check half of the round-2 label files)."""
        if half not in self.runs:
            targets = {None: TARGETS, "check": CHECK_TARGETS, "fit": (),
                       "check-r2": CHECK_R2_TARGETS}[half]
            args = ["test-rules", "--rules", RULES_DIR, "--list", "10"]
            args += ["--split", half[:5]] if half else []
            for f in LABELS if half != "check-r2" else LABELS[2:]:
                args += ["--labels", os.path.join(CORPUS, f)]
            for cls, f1 in targets:
                args += ["--min-f1", "%s=%s" % (cls, f1)]
            args += [os.path.join(CORPUS, f) for f in POSTS]
            self.runs[half] = run(*args, timeout=300)
        return self.runs[half]

    def score(self, half, targets):
        """Checks the --min-f1 targets of one half were met; returns the report."""
        rc, out, err = self.run_half(half)
        # On failure, show the score table and the misses, not the whole report.
        report = out[out.find("Labels:"):] if "Labels:" in out else out
        self.assertEqual(rc, 0, "test-rules --min-f1 failed:\n%s\n%s" % (err, report))
        self.assertIn("0 with no post in the input", out)
        for cls, f1 in targets:
            m = re.search(SCORE % re.escape(cls), out, re.M)
            self.assertIsNotNone(m, "no score line for %s in:\n%s" % (cls, report))
            self.assertGreaterEqual(float(m.group(6)), float(f1), report)
        return out, report

    def test_f1_targets_on_dev_labels(self):
        if corpus_files() is None:
            self.skipTest("corpus not present")
        self.score(None, TARGETS)

    def test_targets_on_check_half(self):
        """The half of the conversations rules are judged on, not written from."""
        if corpus_files() is None:
            self.skipTest("corpus not present")
        out, report = self.score("check", CHECK_TARGETS)
        self.assertIn("Split: check half only", out)
        for cls, p in CHECK_PRECISION:
            m = re.search(SCORE % re.escape(cls), out, re.M)
            self.assertGreaterEqual(float(m.group(4)), p, "%s precision\n%s" % (cls, report))
        m = re.search(r"resolved in public but alerted as unresolved: (\d+) of (\d+)", out)
        self.assertIsNotNone(m, report)
        missed, resolved = int(m.group(1)), int(m.group(2))
        self.assertGreater(resolved, 10, report)
        self.assertGreaterEqual(1 - missed / resolved, CHECK_CASES_RESOLVED_FOUND, report)

    def test_targets_on_round_two_check_labels(self):
        """The labels no rule was read from: the round-2 files' check half."""
        if corpus_files() is None:
            self.skipTest("corpus not present")
        out, _ = self.score("check-r2", CHECK_R2_TARGETS)
        self.assertIn("Split: check half only", out)

    def test_halves_partition_the_labels(self):
        """Every scored label is in exactly one half: the fit and check counts add up."""
        if corpus_files() is None:
            self.skipTest("corpus not present")
        totals = {}
        for half in (None, "fit", "check"):
            rc, out, err = self.run_half(half)
            self.assertEqual(rc, 0, err)
            totals[half] = [sum(int(x) for x in re.search(SCORE % re.escape(c), out,
                                                          re.M).groups()[:3])
                            for c in ("dm+channel", "resolution")]
        self.assertEqual([a + b for a, b in zip(totals["fit"], totals["check"])],
                         totals[None])
        for half in ("fit", "check"):
            self.assertGreater(min(totals[half]), 0.3 * min(totals[None]))

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
