"""Local overrides of shipped rules, check's warnings and explain --why-not, run as a user would."""
import json
import os
import re
import signal
import unittest

from common import SRCDIR, findings, post, run, tmpdir, write_posts, write_rules
from daemon_harness import Daemon, post as live_post

SHIPPED = os.path.join(os.path.abspath(SRCDIR), "rules")
CHANNEL = os.path.join(SHIPPED, "20-deflection-channel.rules")
DM = os.path.join(SHIPPED, "10-deflection-dm.rules")
# The post from issue 12: a real DM ask, dropped by the shipped "never ask ... DM" unless.
NEVER_ASK = "We will never ask you to DM us your password. Please DM us your order number."


def section_line(path, header):
    """The 1-based line of a section header in a shipped file (the pack may move)."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip() == header:
                return n
    raise AssertionError(f"{header} not in {path}")


def key_line(path, header, key):
    """The 1-based line of the first key line of a section in a shipped file."""
    start = section_line(path, header)
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if n > start and line.split("=")[0].strip() == key:
                return n
    raise AssertionError(f"{key} not in {header}")


def local_dir(t, text, name="99-local.rules"):
    """The operator's own rules directory with one file."""
    return write_rules(t, text, name, sub="rules.d")

def call_and_dm_posts(t):
    """Two conversations: one deflected by call-us (a), one by a DM ask (b)."""
    return write_posts(t, [
        post("1", "my order is broken", "2024-01-01T00:00:00Z", conv="a"),
        post("2", "@cust please call us at 555", "2024-01-01T00:01:00Z",
             author="Acme", brand_flag=True, conv="a", reply="1"),
        post("3", "my parcel is lost", "2024-01-01T00:00:00Z", author="kim", conv="b"),
        post("4", "@kim please DM us your order number", "2024-01-01T00:01:00Z",
             author="Acme", brand_flag=True, conv="b", reply="3"),
    ])



class Overrides(unittest.TestCase):
    def test_local_file_disables_call_us_and_check_says_where(self):
        with tmpdir() as t:
            local = local_dir(t, "# Too noisy for us.\n[deflection call-us]\nenabled = no\n")
            local_file = os.path.join(local, "99-local.rules")
            rc, out, err = run("check", "--rules", SHIPPED, "--rules", local)
            self.assertEqual(rc, 0, err)
            head = section_line(CHANNEL, "[deflection call-us]")
            lines = out.splitlines()
            self.assertIn(f"override: deflection call-us ({CHANNEL}:{head}) overridden by "
                          f"{local_file}:2", lines)
            self.assertIn(f"  {local_file}:3: enabled = no", lines)
            # Every other key still comes from the shipped file, with its line.
            pat = key_line(CHANNEL, "[deflection call-us]", "pattern")
            self.assertTrue(any(x.startswith(f"  {CHANNEL}:{pat}: pattern = ") for x in lines),
                            out)
            self.assertTrue(lines[-1].startswith("configuration OK ("), out)
            # Only the overridden rule is listed.
            self.assertEqual(len([x for x in lines if x.startswith("override:")]), 1, out)

            text = "Please call us, we're happy to help."
            rc, out, _ = run("explain", "--rules", SHIPPED, text)
            self.assertEqual(rc, 0)
            self.assertIn("deflection call-us", out)
            rc, out, _ = run("explain", "--rules", SHIPPED, "--rules", local, "--why-not", text)
            self.assertEqual(rc, 1, out)
            self.assertIn("no rule matched", out)
            self.assertIn(f"dropped:    deflection call-us ({CHANNEL}:{head}, overridden at "
                          f"{local_file}:2) pattern matched", out)
            self.assertIn(f"  because:  disabled (enabled = no at {local_file}:3)", out)

    def test_config_lists_shipped_then_local_directories_for_replay(self):
        with tmpdir() as t:
            local_dir(t, "[deflection call-us]\nenabled = no\n")
            conf = os.path.join(t, "deflectd.conf")
            with open(conf, "w") as f:
                f.write(f"[daemon]\nrules_dir = {SHIPPED}, rules.d   # shipped, then ours\n")
            posts = call_and_dm_posts(t)
            rc, out, err = run("replay", "-c", conf, "--drain", posts)
            self.assertEqual(rc, 0, err)
            rules = {f["conversation_id"]: f["rule"] for f in findings(out)
                     if f["type"] == "deflection"}
            self.assertEqual(rules, {"b": "dm-request"})
            # Without the local directory the shipped rule fires.
            rc, out, err = run("replay", "--rules", SHIPPED, "--drain", posts)
            rules = {f["conversation_id"]: f["rule"] for f in findings(out)
                     if f["type"] == "deflection"}
            self.assertEqual(rules, {"a": "call-us", "b": "dm-request"})

    def test_report_and_case_close_take_rules_more_than_once(self):
        """report reads --rules DIR --rules DIR as replay does: the local override holds."""
        with tmpdir() as t:
            local = local_dir(t, "[deflection call-us]\nenabled = no\n")
            posts = call_and_dm_posts(t)
            deflections = {}
            for args in (("--rules", SHIPPED), ("--rules", SHIPPED, "--rules", local)):
                rc, out, err = run("report", *args, "--format", "json", posts)
                self.assertEqual(rc, 0, err)
                doc = json.loads(out)
                deflections[len(args)] = doc["totals"]["deflections"]
                self.assertIn("rule file", doc["methods"]["rules_version"])
            self.assertEqual(deflections, {2: 2, 4: 1})

    def test_narrower_unless_and_added_pattern(self):
        with tmpdir() as t:
            local = local_dir(t, "[deflection dm-request]\n"
                              "unless = \\bnever\\s+ask\\s+for\\s+your\\s+password\\s+by\\s+dm\\b\n"
                              "unless = \\bno\\s+need\\s+to\\s+dm\\b\n"
                              "pattern += \\bslide\\s+into\\s+our\\s+dms\\b\n"
                              "example += Slide into our DMs and we will sort it.\n")
            rc, out, err = run("explain", "--rules", SHIPPED, NEVER_ASK)
            self.assertEqual(rc, 1, out)
            rc, out, err = run("explain", "--rules", SHIPPED, "--rules", local, NEVER_ASK)
            self.assertEqual(rc, 0, err)
            self.assertRegex(out, r"match:      deflection dm-request \(.*10-deflection-dm\.rules:"
                             r"\d+, overridden at .*99-local\.rules:1\)")
            # The shipped counter still holds under the narrower unless, so it loads.
            rc, out, err = run("explain", "--rules", SHIPPED, "--rules", local,
                               "Slide into our DMs")
            self.assertEqual(rc, 0, err)
            self.assertIn("deflection dm-request", out)
            rc, out, err = run("check", "--rules", SHIPPED, "--rules", local)
            self.assertEqual(rc, 0, err)
            self.assertIn(f"{local}/99-local.rules:2: unless = ", out)

    def test_bad_overrides_are_errors_with_place(self):
        with tmpdir() as t:
            local = local_dir(t, "[resolution call-us]\nenabled = no\n\n"
                              "[deflection call-uss]\nenabled = no\n\n"
                              "[deflection dm-request]\nenabled = no\n"
                              "[deflection dm-request]\nwindow = 1h\n"
                              "[deflection dm-ask]\nseverity += high\n")
            f = os.path.join(local, "99-local.rules")
            head = section_line(CHANNEL, "[deflection call-us]")
            rc, out, err = run("check", "--rules", SHIPPED, "--rules", local)
            self.assertEqual(rc, 1)
            self.assertEqual(out, "")
            self.assertEqual(err.splitlines(), [
                f'{f}:1:2: rule "call-us" is a deflection rule ({CHANNEL}:{head}); an override '
                'must name the same kind',
                f'{f}:4:1: rule "call-uss" has no pattern, phrase or link (and no earlier file '
                'has a rule with this id to override)',
                f'{f}:9:1: duplicate rule id "dm-request" (this file overrides it already at '
                'line 7)',
                f'{f}:12:1: "+=" adds to a list key (pattern, phrase, link, require, unless, '
                'tags, brand, platform, lang, example, counter); use "severity ="',
            ])
            # An override that breaks a shipped example is caught at the override's line.
            local = local_dir(t, "[deflection call-us]\npattern = \\bring\\s+us\\b\n")
            rc, out, err = run("check", "--rules", SHIPPED, "--rules", local)
            self.assertEqual(rc, 1)
            self.assertRegex(err, re.escape(CHANNEL) + r':\d+:\d+: example does not match rule '
                             r'"call-us"')
            # Every listed directory must exist; a later one may be empty.
            empty = os.path.join(t, "empty")
            os.mkdir(empty)
            rc, out, err = run("check", "--rules", SHIPPED, "--rules", empty)
            self.assertEqual((rc, err), (0, ""))
            rc, _, err = run("check", "--rules", SHIPPED, "--rules", os.path.join(t, "nope"))
            self.assertEqual(rc, 1)
            self.assertIn("nope: cannot open rules directory: No such file or directory", err)

    def test_daemon_reads_both_directories_and_reloads_a_local_override(self):
        with tmpdir() as t:
            d = Daemon(t)
            local = local_dir(t, "[deflection dm]\nenabled = no\nplatform += twiter\n")
            with open(d.conf) as f:
                conf = f.read()
            with open(d.conf, "w") as f:
                f.write(conf.replace("rules_dir = rules\n", "rules_dir = rules, rules.d\n", 1))
            d.start()
            # Warnings are logged at start, as check prints them.
            d.wait_log(r'rules\.d/99-local\.rules:3:\d+: warning: platform "twiter"')
            d.push([live_post("a1", "my order is broken", author="ann", conv="a"),
                    live_post("a2", "@ann sorry, DM us", author="Acme", brand=True, conv="a",
                         reply="a1")])
            # a1 and a2 are matched when tracked (the next tick), not when pushed:
            # the reload must come after that, or they meet the reloaded rules.
            d.wait_db("SELECT count(*) FROM posts WHERE json IS NULL AND id IN ('a1', 'a2')",
                      [(2,)])
            # Without the override the rule is back after a reload.
            os.remove(os.path.join(local, "99-local.rules"))
            with open(os.path.join(local, "50-notes.rules"), "w") as f:
                f.write("# nothing local yet\n")
            n = len(d.log)
            d.signal(signal.SIGHUP)
            d.wait_log(r"reloaded: 3 rules", start=n)
            d.push([live_post("b1", "my order is broken", author="bob", conv="b"),
                    live_post("b2", "@bob sorry, DM us", author="Acme", brand=True, conv="b",
                         reply="b1")])
            d.wait_db("SELECT conversation_id FROM cases ORDER BY 1", [("b",)])
            d.stop()


class Warnings(unittest.TestCase):
    RULES = ("[deflection dm-us]\n"
             "pattern  = \\bdm\\s+us\\b\n"
             "unless   = \\bnever\\b   # not a real ask\n"
             "platform = twiter\n"
             "brand    = acme, nosuchbrand\n"
             "lang     = en, de_DE\n"
             "example  = please dm us\n"
             "\n"
             "[deflection whatsapp]\n"
             "pattern = \\bwhatsapp\\b\n")

    def setUp(self):
        self.t = tmpdir()
        self.rules = local_dir(self.t.name, self.RULES, "10-mine.rules")
        self.conf = os.path.join(self.t.name, "deflectd.conf")
        with open(self.conf, "w") as f:
            f.write("[daemon]\nrules_dir = rules.d\n[brand acme]\ntwitter = AcmeSupport\n")

    def tearDown(self):
        self.t.cleanup()

    def test_check_warns_and_exits_0(self):
        f = os.path.join(self.rules, "10-mine.rules")
        rc, out, err = run("check", "-c", self.conf)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "configuration OK (2 rules, 5 warnings)\n")
        self.assertEqual(err.splitlines(), [
            f'{f}:3:24: warning: "# not a real ask" is part of the unless, not a comment '
            "(comments go on a line of their own; write \\# for a literal '#')",
            f'{f}:4:12: warning: platform "twiter" is no platform deflectd knows (twitter, '
            'mastodon, bluesky), so this rule never fires; did you mean "twitter"?',
            f'{f}:5:18: warning: brand "nosuchbrand" is not a [brand] of the config, so this '
            "rule never fires",
            f'{f}:6:16: warning: lang "de_DE" is not a language tag such as "de" or "pt-BR" '
            "(subtags are joined with '-'), so it matches no post",
            f'{f}:9:1: warning: rule "whatsapp" has no example (add "example = ..." with a post '
            "it must match; loading checks it)",
            # Not a rule warning (not counted above): the config takes no posts yet.
            f"{self.conf}: warning: no input: add a [source] section, or set admin_token_file "
            "to take posts by HTTP push",
        ])

    def test_strict_makes_them_errors(self):
        rc, out, err = run("check", "--strict", "-c", self.conf)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertIn(': warning: platform "twiter"', err)
        self.assertTrue(err.endswith("5 warnings, errors with --strict\n"), err)

    def test_no_brand_warning_without_configured_brands(self):
        rc, out, err = run("check", "--rules", self.rules)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("nosuchbrand", err)
        self.assertIn("(2 rules, 4 warnings)", out)

    def test_shipped_rules_have_no_warnings(self):
        rc, out, err = run("check", "--strict", "--rules", SHIPPED)
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")


class WhyNot(unittest.TestCase):
    def test_names_the_unless_that_dropped_the_post(self):
        rc, out, err = run("explain", "--why-not", "--rules", SHIPPED, NEVER_ASK)
        self.assertEqual(rc, 1, err)
        self.assertIn("no rule matched", out)
        head = section_line(DM, "[deflection dm-request]")
        unless = key_line(DM, "[deflection dm-request]", "unless")
        self.assertRegex(out, re.escape(f"dropped:    deflection dm-request ({DM}:{head}) "
                                        "pattern matched span ") + r'\d+-\d+ "DM us"')
        self.assertRegex(out, re.escape(f"  because:  unless at {DM}:{unless} matched span ") +
                         r'\d+-\d+ "never ask you to DM[^"]*"')

    def test_by_and_scope_reasons(self):
        with tmpdir() as t:
            local = local_dir(t, "[deflection dm-us]\npattern = \\bdm\\s+us\\b\n"
                              "platform = mastodon\nbrand = acme\nlang = es\n"
                              "require = \\bplease\\b\nexample = please dm us\n")
            f = os.path.join(local, "99-local.rules")
            rc, out, _ = run("explain", "--why-not", "--rules", local, "--by", "customer",
                             "--platform", "twitter", "--lang", "en", "dm us")
            self.assertEqual(rc, 1)
            self.assertIn("  because:  by = brand, but the post is by a customer", out)
            self.assertIn(f"  because:  brand = acme ({f}:4), but the post is for no brand",
                          out)
            self.assertIn(f"  because:  platform = mastodon ({f}:3), but the post is on "
                          "twitter", out)
            self.assertIn(f"  because:  lang = es ({f}:5), but the post is in en", out)
            self.assertIn(f"  because:  require at {f}:6 did not match", out)
            rc, out, _ = run("explain", "--why-not", "--rules", local, "hello")
            self.assertIn("dropped:    none", out)


if __name__ == "__main__":
    unittest.main()
