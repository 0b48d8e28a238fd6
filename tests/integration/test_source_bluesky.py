"""The Bluesky source against a local AppView on 127.0.0.1 that speaks
app.bsky.feed.getAuthorFeed (newest first, paged back by cursor) and
app.bsky.feed.getPostThread."""
import json
import threading
import time
import unittest
import urllib.parse
from http.server import ThreadingHTTPServer

from common import JSONHandler, Receiver, tmpdir
from daemon_harness import Daemon, iso

BRAND, CUSTOMER = "did:plc:acmebrand0000000000000", "did:plc:customer00000000000000"
ROOT = f"at://{CUSTOMER}/app.bsky.feed.post/3kroot000001"
REPLY = f"at://{BRAND}/app.bsky.feed.post/3kreply00001"
LATE = f"at://{CUSTOMER}/app.bsky.feed.post/3kfollow0001"


def post_view(uri, did, handle, text, at, parent=None):
    rec = {"$type": "app.bsky.feed.post", "text": text, "createdAt": at, "langs": ["en"]}
    if parent:
        rec["reply"] = {"root": {"uri": ROOT, "cid": "bafyroot"},
                        "parent": {"uri": parent, "cid": "bafyparent"}}
    return {"uri": uri, "cid": "bafy" + uri[-6:], "author": {"did": did, "handle": handle},
            "record": rec, "indexedAt": at}


class AppView:
    def __init__(self):
        self.requests = []
        self.resolved = False
        self.rate_limit = 0
        t0 = iso(-120)
        self.root = post_view(ROOT, CUSTOMER, "sam.bsky.social",
                              "@acme.bsky.social charged twice for one order", t0)
        self.reply = post_view(REPLY, BRAND, "acme.bsky.social",
                               "@sam.bsky.social Sorry! Could you DM us your order number?",
                               iso(-90), ROOT)
        self.late = post_view(LATE, CUSTOMER, "sam.bsky.social",
                              "refund arrived, all sorted now. thanks", iso(-1), REPLY)
        self.feed = [self.reply]  # the brand's feed, newest first
        self.page_size = 50
        self.hold = set()  # cursors whose page never comes
        self.hang_threads = False
        self.refuse = set()  # cursors answered 400, as a stale one would be
        av = self

        class Handler(JSONHandler):
            def do_GET(self):
                u = urllib.parse.urlparse(self.path)
                q = urllib.parse.parse_qs(u.query)
                av.requests.append((u.path, q))
                if av.rate_limit > 0:
                    av.rate_limit -= 1
                    return self.reply(429, {"error": "RateLimitExceeded",
                                             "message": "Rate Limit Exceeded"})
                if u.path == "/xrpc/app.bsky.feed.getAuthorFeed":
                    if q.get("actor") != ["acme.bsky.social"]:
                        return self.reply(400, {"error": "InvalidRequest"})
                    # The cursor is opaque to clients; here it is an offset.
                    if q.get("cursor", [""])[0] in av.hold:
                        time.sleep(30)
                    if q.get("cursor", [""])[0] in av.refuse:
                        return self.reply(400, {"error": "InvalidRequest",
                                                 "message": "malformed cursor"})
                    at = int(q.get("cursor", ["o0"])[0][1:])
                    n = min(int(q["limit"][0]), av.page_size)
                    page = {"feed": [p if "post" in p else {"post": p}
                                     for p in av.feed[at:at + n]]}
                    if at + n < len(av.feed):
                        page["cursor"] = f"o{at + n}"
                    return self.reply(200, page)
                if u.path == "/xrpc/app.bsky.feed.getPostThread" and av.hang_threads:
                    time.sleep(25)
                if u.path == "/xrpc/app.bsky.feed.getPostThread" and q.get("uri") == [ROOT]:
                    late = [{"$type": "app.bsky.feed.defs#threadViewPost", "post": av.late,
                             "replies": []}] if av.resolved else []
                    return self.reply(200, {"thread": {
                        "$type": "app.bsky.feed.defs#threadViewPost", "post": av.root,
                        "replies": [{"$type": "app.bsky.feed.defs#threadViewPost",
                                     "post": av.reply, "replies": late}]}})
                return self.reply(404, {"error": "NotFound"})


        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class BlueskySource(unittest.TestCase):
    def test_feed_opens_case_and_thread_resolves_it(self):
        av = AppView()
        try:
            with tmpdir() as t:
                d = Daemon(t, extra=(
                    "[brand acme]\nbluesky = acme.bsky.social\n"
                    f"[source bsky]\ntype = bluesky\nurl = {av.url}/\npoll_interval = 1s\n"))
                d.start()
                d.wait_db("SELECT platform, customer, state FROM cases",
                          [("bluesky", "sam.bsky.social", "deflected")])
                d.wait_log(r"finding deflection brand=acme conversation=at://")
                # The thread of the open case is followed until the resolution shows.
                av.rate_limit = 1
                d.wait_log(r"source bsky: .*HTTP 429")
                av.resolved = True
                d.wait_db("SELECT state FROM cases", [("resolved",)], timeout=15)
                threads = [q for p, q in av.requests if p.endswith("getPostThread")]
                self.assertTrue(threads)
                self.assertEqual(threads[0]["uri"], [ROOT])
                feeds = [q for p, q in av.requests if p.endswith("getAuthorFeed")]
                self.assertEqual(feeds[0]["filter"], ["posts_with_replies"])
                # Polled again and again: the same posts never count twice.
                time.sleep(1.5)
                self.assertEqual(d.db("SELECT count(*) FROM posts"), [(3,)])
                code, text = d.get("/metrics")
                self.assertIn('deflectd_posts_total{source="bluesky:bsky"} 3\n', text)
                d.stop()
        finally:
            av.close()

    def test_restart_catches_up_through_cursors_without_gaps(self):
        """Posts made while the daemon was down, more than a page of them, are
        all read after a restart by following the cursor back to where the
        last run stopped, even when that catch-up is itself cut by a restart;
        none twice, and a deflection among them reaches the webhook as
        unresolved. A post dated a day ahead (a client's clock) does not put
        the later ones behind the saved point."""
        av = AppView()
        rx = Receiver()
        ahead = f"at://{BRAND}/app.bsky.feed.post/3kahead00001"
        av.feed.insert(0, post_view(ahead, BRAND, "acme.bsky.social",
                                    "@sam.bsky.social Happy new year!", iso(86400)))
        try:
            with tmpdir() as t:
                conf = ("[brand acme]\nbluesky = acme.bsky.social\n"
                        f"[source bsky]\ntype = bluesky\nurl = {av.url}\npoll_interval = 1s\n"
                        f"[webhook ops]\nurl = {rx.url}\nsecret = whsec_"
                        "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0\ntypes = deflection.unresolved\n")
                d = Daemon(t, window="2s", extra=conf).start()
                d.wait_db(f"SELECT count(*) FROM posts WHERE id = '{REPLY}'", [(1,)])
                pos = "bluesky:bsky/acme.bsky.social"
                d.wait_db(f"SELECT count(*) FROM positions WHERE source = '{pos}'", [(1,)])
                saved = json.loads(d.db("SELECT value FROM positions WHERE source = ?",
                                        (pos,))[0][0])
                self.assertEqual(saved["cursor"], "")
                d.stop()

                # Seven brand posts while it is down: three pages of three.
                convs = []
                for i in range(7):
                    cust = f"did:plc:cust{i:021d}"
                    root = f"at://{cust}/app.bsky.feed.post/3kq{i:09d}"
                    uri = f"at://{BRAND}/app.bsky.feed.post/3ka{i:09d}"
                    text = (f"@c{i}.bsky.social Please DM us your order number"
                            if i == 3 else f"@c{i}.bsky.social Thanks for the kind words!")
                    view = post_view(uri, BRAND, "acme.bsky.social", text, iso(2 + i))
                    view["record"]["reply"] = {"root": {"uri": root, "cid": "bafyr"},
                                               "parent": {"uri": root, "cid": "bafyr"}}
                    av.feed.insert(0, view)
                    convs.append(root)
                av.page_size = 3
                # The third page hangs and the daemon is stopped waiting for it:
                # the cursor it had reached is saved with the second page.
                av.hold = {"o6"}
                before = len(av.requests)
                d.start()
                d.wait_db("SELECT json_extract(value, '$.cursor') FROM positions "
                          f"WHERE source = '{pos}'", [("o6",)])
                cursors = lambda: [q.get("cursor", [""])[0] for p, q in av.requests[before:]
                                   if p.endswith("getAuthorFeed")]
                deadline = time.monotonic() + 10
                while len(cursors()) < 3 and time.monotonic() < deadline:
                    time.sleep(0.05)
                self.assertEqual(cursors(), ["", "o3", "o6"])
                d.stop()
                rows = d.db("SELECT count(*) FROM posts")[0][0]
                av.hold = set()
                before = len(av.requests)
                d.start()
                d.wait_db(f"SELECT count(*) FROM posts WHERE id LIKE 'at://{BRAND}/%'", [(9,)])
                feeds = [q for p, q in av.requests[before:] if p.endswith("getAuthorFeed")]
                # It goes on from that cursor, back to the page that holds what
                # the first run read; nothing older is asked for.
                self.assertEqual(feeds[0].get("cursor"), ["o6"])
                self.assertNotIn("o9", [q.get("cursor", [""])[0] for q in feeds])
                saved = json.loads(d.db("SELECT value FROM positions WHERE source = ?",
                                        (pos,))[0][0])
                self.assertEqual(saved["cursor"], "")
                self.assertGreater(saved["seen"], 0)
                self.assertLess(saved["seen"], time.time() + 60)
                # The deflection among them opens a case, unresolved past its window.
                d.wait_db(f"SELECT state FROM cases WHERE conversation_id = '{convs[3]}'",
                          [("unresolved",)], timeout=15)
                # The first run's case (ROOT) goes unresolved too: two alerts.
                # Delivery is at least once: a stop may come between the receiver's
                # answer and its record, and the same alert (same id) goes again.
                deadline = time.monotonic() + 15
                while True:
                    alerts = list({a["id"]: a for a in
                                   (json.loads(r["body"]) for r in rx.requests)}.values())
                    if len(alerts) >= 2 or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                self.assertEqual(sorted(a["case"]["conversation_id"] for a in alerts),
                                 sorted([ROOT, convs[3]]))
                self.assertEqual({a["type"] for a in alerts}, {"deflection.unresolved"})
                # Polled again and again, pages read twice: every post this run
                # accepted is a new row, and the brand's are exactly the seven.
                time.sleep(1.5)
                code, text = d.get("/metrics")
                after = d.db("SELECT count(*) FROM posts")[0][0]
                self.assertIn(f'deflectd_posts_total{{source="bluesky:bsky"}} {after - rows}\n',
                              text)
                self.assertRegex(text, r'deflectd_duplicate_posts_total\{source="bluesky:bsky"\} [1-9]')
                d.stop()
        finally:
            rx.close()
            av.close()

    def test_a_page_of_reposts_does_not_end_a_catch_up(self):
        """The newest page holds only reposts (no post of the brand's own):
        the catch-up still goes on to the page behind it."""
        av = AppView()
        try:
            with tmpdir() as t:
                d = Daemon(t, extra=(
                    "[brand acme]\nbluesky = acme.bsky.social\n"
                    f"[source bsky]\ntype = bluesky\nurl = {av.url}\npoll_interval = 1s\n"))
                d.start()
                d.wait_db(f"SELECT count(*) FROM posts WHERE id = '{REPLY}'", [(1,)])
                d.wait_db("SELECT count(*) FROM positions", [(1,)])
                d.stop()
                for i in range(2):
                    av.feed.insert(0, post_view(f"at://{BRAND}/app.bsky.feed.post/3kown{i:07d}",
                                                BRAND, "acme.bsky.social",
                                                f"@sam.bsky.social update {i}", iso(2 + i)))
                for i in range(3):
                    other = post_view(f"at://{CUSTOMER}/app.bsky.feed.post/3krp{i:08d}",
                                      CUSTOMER, "sam.bsky.social", f"news {i}", iso(3 + i))
                    av.feed.insert(0, {"post": other, "reason": {
                        "$type": "app.bsky.feed.defs#reasonRepost",
                        "by": {"did": BRAND, "handle": "acme.bsky.social"},
                        "indexedAt": iso(3 + i)}})
                av.page_size = 3
                d.start()
                d.wait_db(f"SELECT count(*) FROM posts WHERE id LIKE 'at://{BRAND}/%'", [(3,)])
                d.stop()
        finally:
            av.close()

    def test_a_hanging_thread_does_not_hold_the_feed_back(self):
        """A thread request that hangs is not sent again while it is out, and
        the brand's feed is still polled every interval meanwhile."""
        av = AppView()
        av.hang_threads = True
        try:
            with tmpdir() as t:
                d = Daemon(t, extra=(
                    "[brand acme]\nbluesky = acme.bsky.social\n"
                    f"[source bsky]\ntype = bluesky\nurl = {av.url}\npoll_interval = 1s\n"))
                d.start()
                d.wait_db("SELECT state FROM cases", [("deflected",)])
                deadline = time.monotonic() + 10
                while (len([p for p, _ in av.requests if p.endswith("getPostThread")]) < 1 and
                       time.monotonic() < deadline):
                    time.sleep(0.05)
                before = len([p for p, _ in av.requests if p.endswith("getAuthorFeed")])
                time.sleep(3.5)
                feeds = len([p for p, _ in av.requests if p.endswith("getAuthorFeed")])
                threads = len([p for p, _ in av.requests if p.endswith("getPostThread")])
                self.assertGreaterEqual(feeds - before, 2)
                self.assertEqual(threads, 1)
                d.stop()
        finally:
            av.close()

    def test_a_refused_cursor_gives_its_gap_up(self):
        """A saved cursor the AppView answers 400 ends the catch-up with a
        warning, and the position moves on rather than asking again for ever."""
        av = AppView()
        try:
            with tmpdir() as t:
                d = Daemon(t, extra=(
                    "[brand acme]\nbluesky = acme.bsky.social\n"
                    f"[source bsky]\ntype = bluesky\nurl = {av.url}\npoll_interval = 1s\n"))
                d.start()
                d.wait_db(f"SELECT count(*) FROM posts WHERE id = '{REPLY}'", [(1,)])
                d.wait_db("SELECT count(*) FROM positions", [(1,)])
                d.stop()
                for i in range(4):
                    av.feed.insert(0, post_view(f"at://{BRAND}/app.bsky.feed.post/3kgap{i:07d}",
                                                BRAND, "acme.bsky.social",
                                                f"@sam.bsky.social update {i}", iso(-50 + i)))
                av.page_size = 3
                av.refuse = {"o3"}
                d.start()
                d.wait_log(r"source bsky: acme\.bsky\.social: cursor refused \(HTTP 400\); "
                           r"the rest of that gap is lost")
                pos = "bluesky:bsky/acme.bsky.social"
                d.wait_db("SELECT json_extract(value, '$.cursor') FROM positions "
                          f"WHERE source = '{pos}'", [("",)])
                # The newest page was kept; the refused one is not asked for again.
                self.assertEqual(d.db(f"SELECT count(*) FROM posts WHERE id LIKE "
                                      f"'at://{BRAND}/app.bsky.feed.post/3kgap%'")[0][0], 3)
                time.sleep(2.5)
                asked = [q.get("cursor", [""])[0] for p, q in av.requests
                         if p.endswith("getAuthorFeed")]
                self.assertEqual(asked.count("o3"), 1)
                d.stop()
        finally:
            av.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
