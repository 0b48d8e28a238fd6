"""deflectd replay --format over recordings of each platform's raw wire format."""
import os
import unittest

from common import DATA, SRCDIR, findings, run

RULES = os.path.join(SRCDIR, "rules")
FORMATS = os.path.join(DATA, "formats")


def replay(fmt, name, brands):
    return run("replay", "--rules", RULES, "--format", fmt, "--brands", brands,
               "--instance", "social.example", "--window", "1d", "--drain",
               os.path.join(FORMATS, name))


class Formats(unittest.TestCase):
    def test_x_stream_with_keepalives_and_error_objects(self):
        rc, out, err = replay("x", "x.ndjson", "AcmeSupport")
        self.assertEqual(rc, 0, err)
        fs = findings(out)
        self.assertEqual([f["type"] for f in fs], ["deflection", "unresolved", "escalation"])
        self.assertEqual((fs[0]["customer"], fs[0]["platform"]), ("jane_doe", "twitter"))
        # The in-stream error object is reported with its line; keep-alives are not lines.
        self.assertIn("x.ndjson:7: operational-disconnect: This stream has been disconnected",
                      err)
        self.assertIn("3 posts, 1 bad lines", err)

    def test_mastodon_sse_capture(self):
        rc, out, err = replay("mastodon", "mastodon.sse", "AcmeCare@social.example")
        self.assertEqual(rc, 0, err)
        fs = findings(out)
        self.assertEqual([f["type"] for f in fs], ["deflection", "resolution"])
        # The reply's conversation is its parent's, learned from the stream.
        self.assertEqual(fs[1]["conversation_id"], "110000000000000001")
        self.assertEqual(fs[0]["customer"], "erin@social.example")
        self.assertEqual(fs[0]["match"], "send us a private message")
        self.assertIn("3 posts, 0 bad lines", err)

    def test_bluesky_feed_and_thread(self):
        rc, out, err = replay("bluesky", "bluesky.ndjson", "acme.bsky.social")
        self.assertEqual(rc, 0, err)
        fs = findings(out)
        self.assertEqual([f["type"] for f in fs], ["deflection", "unresolved", "resolved_late"])
        self.assertTrue(fs[0]["conversation_id"].startswith("at://did:plc:customer"))
        self.assertEqual(fs[0]["customer"], "sam.bsky.social")
        # The reply appears in both the feed page and the thread: counted once.
        self.assertIn("1 duplicates", err)

    def test_unknown_format(self):
        rc, _, err = run("replay", "--format", "myspace", "x")
        self.assertEqual(rc, 2)
        self.assertIn("--format is native, x, mastodon or bluesky", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
