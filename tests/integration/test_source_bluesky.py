"""The Bluesky source against a local AppView on 127.0.0.1 that speaks
app.bsky.feed.getAuthorFeed and app.bsky.feed.getPostThread."""
import json
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common import tmpdir
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
        av = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                u = urllib.parse.urlparse(self.path)
                q = urllib.parse.parse_qs(u.query)
                av.requests.append((u.path, q))
                if av.rate_limit > 0:
                    av.rate_limit -= 1
                    return self.answer(429, {"error": "RateLimitExceeded",
                                             "message": "Rate Limit Exceeded"})
                if u.path == "/xrpc/app.bsky.feed.getAuthorFeed":
                    if q.get("actor") != ["acme.bsky.social"]:
                        return self.answer(400, {"error": "InvalidRequest"})
                    return self.answer(200, {"feed": [{"post": av.reply}], "cursor": "c1"})
                if u.path == "/xrpc/app.bsky.feed.getPostThread" and q.get("uri") == [ROOT]:
                    late = [{"$type": "app.bsky.feed.defs#threadViewPost", "post": av.late,
                             "replies": []}] if av.resolved else []
                    return self.answer(200, {"thread": {
                        "$type": "app.bsky.feed.defs#threadViewPost", "post": av.root,
                        "replies": [{"$type": "app.bsky.feed.defs#threadViewPost",
                                     "post": av.reply, "replies": late}]}})
                return self.answer(404, {"error": "NotFound"})

            def answer(self, code, doc):
                body = json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

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


if __name__ == "__main__":
    unittest.main(verbosity=2)
