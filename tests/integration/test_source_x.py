"""The X source against a local server on 127.0.0.1 speaking the API v2
filtered stream (chunked NDJSON with \\r\\n keep-alives), its rules endpoint
and recent search: an HTTP error, an in-stream error object, a closed
connection, a stall and a 429, with backoff scaled down by config."""
import json
import os
import shutil
import subprocess
import threading
import time
import unittest
import urllib.parse
from http.server import ThreadingHTTPServer

from common import DEFLECTD, JSONHandler, tmpdir
from daemon_harness import Daemon, iso

USERS = {"100": "jane_doe", "200": "AcmeSupport"}


def tweet(id, text, author, at, reply=None):
    t = {"id": id, "text": text, "author_id": author, "conversation_id": "1790000000000000001",
         "created_at": at, "edit_history_tweet_ids": [id], "lang": "en"}
    if reply:
        t["referenced_tweets"] = [{"type": "replied_to", "id": reply}]
    return t


def includes(*tweets):
    return {"users": [{"id": t["author_id"], "name": "n", "username": USERS[t["author_id"]]}
                      for t in tweets]}


class Server:
    def __init__(self):
        self.connections, self.rules, self.auth, self.searches = [], [], [], []
        self.resolved = False
        q = tweet("1790000000000000001", "@AcmeSupport my order never came", "100", iso(-120))
        a = tweet("1790000000000000002", "@jane_doe Sorry! Please DM us your order number.",
                  "200", iso(-60), q["id"])
        r = tweet("1790000000000000003", "@AcmeSupport all sorted now, thanks", "100", iso(-5),
                  a["id"])
        srv = self

        class Handler(JSONHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                srv.auth.append(self.headers.get("Authorization"))
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/2/tweets/search/stream/rules":
                    srv.rules.append(json.loads(body))
                    return self.reply(201, {"data": [{"id": "1", "value": "v"}],
                                            "meta": {"summary": {"created": 1}}})
                self.reply(404, {})

            def do_GET(self):
                srv.auth.append(self.headers.get("Authorization"))
                u = urllib.parse.urlparse(self.path)
                if u.path == "/2/tweets/search/recent":
                    qs = urllib.parse.parse_qs(u.query)
                    srv.searches.append(qs["query"][0])
                    if "since_id" in qs:  # a catch-up: the stream had it all
                        return self.reply(200, {"meta": {"result_count": 0}})
                    tweets = [q, a, r] if srv.resolved else [q, a]
                    return self.reply(200, {"data": tweets, "includes": includes(*tweets),
                                            "meta": {"result_count": len(tweets)}})
                if u.path != "/2/tweets/search/stream":
                    return self.reply(404, {})
                srv.connections.append(time.monotonic())
                n = len(srv.connections)
                if n == 1:
                    return self.reply(503, {"title": "Service Unavailable"})
                if n == 4:
                    return self.reply(429, {"title": "TooManyConnections"})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

                def chunk(text):
                    data = text.encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                try:
                    if n == 2:
                        chunk("\r\n")
                        for t in (q, a):
                            chunk(json.dumps({"data": t, "includes": includes(t),
                                              "matching_rules": [{"id": "1"}]}) + "\r\n")
                        chunk("\r\n")
                        chunk(json.dumps({"errors": [{"title": "operational-disconnect",
                                                      "detail": "upstream"}]}) + "\r\n")
                        self.wfile.write(b"0\r\n\r\n")
                        self.close_connection = True
                        return
                    if n == 3:
                        time.sleep(4)  # silence: a stall
                        return
                    for _ in range(60):
                        chunk("\r\n")  # keep-alives only
                        time.sleep(0.3)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class XSource(unittest.TestCase):
    def test_stream_rules_reconnects_and_search(self):
        srv = Server()
        try:
            with tmpdir() as t:
                with open(os.path.join(t, "x.token"), "w") as f:
                    f.write("x-bearer-abc\n")
                d = Daemon(t, extra=(
                    "[brand acme]\ntwitter = AcmeSupport\n"
                    f"[source x]\ntype = x\nurl = {srv.url}\nbearer_token_file = x.token\n"
                    "stall_timeout = 1s\npoll_interval = 1s\nbackoff_scale = 0.01\n"))
                d.start()
                d.wait_db("SELECT platform, customer, state FROM cases",
                          [("twitter", "jane_doe", "deflected")], timeout=15)
                self.assertEqual(srv.rules[0]["add"][0]["value"],
                                 "from:AcmeSupport OR to:AcmeSupport")
                d.wait_log(r"source x: stream: HTTP 503")
                d.wait_log(r"source x: stream error: operational-disconnect")
                d.wait_log(r"source x: no byte for 1s: stream stalled", timeout=15)
                d.wait_log(r"source x: stream: HTTP 429", timeout=15)
                # The 429 waits a (scaled) minute; the HTTP error 5 s; both scaled by 0.01.
                gaps = [b - a for a, b in zip(srv.connections, srv.connections[1:])]
                self.assertGreaterEqual(gaps[0], 0.04)
                deadline = time.monotonic() + 10
                while len(srv.connections) < 5 and time.monotonic() < deadline:
                    time.sleep(0.1)
                self.assertGreaterEqual(srv.connections[4] - srv.connections[3], 0.55)
                srv.resolved = True
                d.wait_db("SELECT state FROM cases", [("resolved",)], timeout=15)
                # Recent search follows the open case's conversation (the
                # other searches are the catch-ups after each reconnection).
                follows = [q for q in srv.searches if q.startswith("conversation_id:")]
                self.assertEqual(follows[0], "conversation_id:1790000000000000001")
                self.assertTrue(all(a == "Bearer x-bearer-abc" for a in srv.auth))
                self.assertFalse(any("x-bearer-abc" in l for l in d.log))
                self.assertEqual(d.db("SELECT count(*) FROM posts"), [(3,)])
                # Per-source status: metrics (checked by promtool elsewhere) and status.
                code, text = d.get("/metrics")
                self.assertIn('deflectd_source_connected{source="x:x"} 1\n', text)
                self.assertIn('deflectd_source_stalls_total{source="x:x"} 1\n', text)
                self.assertRegex(text, r'deflectd_source_reconnects_total\{source="x:x"\} [4-9]\n')
                self.assertRegex(text, r'deflectd_source_errors_total\{source="x:x"\} 3\n')
                if shutil.which("promtool"):
                    pt = subprocess.run(["promtool", "check", "metrics"], input=text,
                                        capture_output=True, text=True)
                    self.assertEqual(pt.returncode, 0, pt.stdout + pt.stderr)
                status_conf = os.path.join(t, "status.conf")
                with open(d.conf) as f, open(status_conf, "w") as g:
                    g.write(f.read().replace("127.0.0.1:0", f"127.0.0.1:{d.port}"))
                p = subprocess.run([DEFLECTD, "status", "-c", status_conf], capture_output=True,
                                   text=True, timeout=30)
                self.assertRegex(p.stdout, r"source x:x: connected, last byte \d+s ago, "
                                           r"[4-9] reconnects, 1 stalls, 3 errors", p.stdout)
                d.stop()
        finally:
            srv.close()


class Timeline:
    """A stream that sends its queue on every connection then keep-alives, and
    recent search over the brand's timeline: since_id, newest first, pages
    of two with next_token."""

    def __init__(self):
        self.streamed, self.timeline, self.searches = [], [], []
        self.connections = 0
        self.flap = False          # streams close right after they open
        self.refuse_since = False  # catch-ups get 400, as past search's 7 days
        self.first_catchup = None  # (seconds to hold it, ids it cannot see yet)
        self.script = []           # per connection: (tweets, seconds until it closes)
        tl = self

        class Handler(JSONHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.reply(201, {"data": [{"id": "1", "value": "v"}]})

            def do_GET(self):
                u = urllib.parse.urlparse(self.path)
                q = urllib.parse.parse_qs(u.query)
                if u.path == "/2/tweets/search/recent":
                    tl.searches.append(q)
                    if "since_id" not in q:
                        return self.reply(200, {"meta": {"result_count": 0}})
                    if tl.refuse_since:
                        return self.reply(400, {"title": "Invalid Request", "detail":
                                                "'since_id' must be within the last 7 days"})
                    hidden = set()
                    if tl.first_catchup is not None:
                        hold, hidden = tl.first_catchup
                        tl.first_catchup = None
                        time.sleep(hold)
                    newer = sorted((t for t in tl.timeline if t["id"] not in hidden and
                                    int(t["id"]) > int(q["since_id"][0])),
                                   key=lambda t: int(t["id"]), reverse=True)
                    at = int(q.get("next_token", ["p0"])[0][1:])
                    page = newer[at:at + 2]
                    doc = {"meta": {"result_count": len(page)}}
                    if page:
                        doc["data"], doc["includes"] = page, includes(*page)
                    if at + 2 < len(newer):
                        doc["meta"]["next_token"] = f"p{at + 2}"
                    return self.reply(200, doc)
                tl.connections += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                if tl.flap:
                    self.wfile.write(b"2\r\n\r\n\r\n0\r\n\r\n")
                    self.close_connection = True
                    return
                streamed, lasts = tl.script.pop(0) if tl.script else (tl.streamed, 20)
                try:
                    for t in streamed:
                        data = (json.dumps({"data": t, "includes": includes(t)}) + "\r\n").encode()
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    end = time.monotonic() + lasts
                    while time.monotonic() < end:
                        self.wfile.write(b"2\r\n\r\n\r\n")
                        self.wfile.flush()
                        time.sleep(0.1)
                    self.wfile.write(b"0\r\n\r\n")
                    self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class XCatchUp(unittest.TestCase):
    def test_restart_catches_up_through_recent_search(self):
        """Tweets the stream never delivered (the daemon was down) are read
        after a restart through recent search from the saved since_id, every
        page, once each."""
        tl = Timeline()
        try:
            with tmpdir() as t:
                with open(os.path.join(t, "x.token"), "w") as f:
                    f.write("x-bearer-abc\n")
                d = Daemon(t, extra=(
                    "[brand acme]\ntwitter = AcmeSupport\n"
                    f"[source x]\ntype = x\nurl = {tl.url}\nbearer_token_file = x.token\n"
                    "stall_timeout = 5s\npoll_interval = 1s\nbackoff_scale = 0.01\n"
                    "[source idle]\ntype = bluesky\nurl = http://127.0.0.1:9\n"))
                first = tweet("1790000000000000010", "@jane_doe Hello!", "200", iso(-100))
                tl.streamed = [first]
                d.start()
                d.wait_db("SELECT value FROM positions WHERE source = 'x:x/since_id'",
                          [(first["id"],)])
                # The first start has no saved id, so nothing to catch up on.
                self.assertFalse([q for q in tl.searches if "since_id" in q])
                d.stop()

                gap = [tweet(f"17900000000000000{11 + i}", f"@jane_doe Update {i}", "200",
                             iso(-90 + i)) for i in range(5)]
                tl.timeline = [first] + gap
                rows = d.db("SELECT count(*) FROM posts")[0][0]
                d.start()
                d.wait_db("SELECT value FROM positions WHERE source = 'x:x/since_id'",
                          [(gap[-1]["id"],)])
                ids = {r[0] for r in d.db("SELECT id FROM posts")}
                self.assertTrue({g["id"] for g in gap} <= ids)
                catchup = [q for q in tl.searches if "since_id" in q]
                self.assertEqual([q["since_id"][0] for q in catchup[:3]], [first["id"]] * 3)
                self.assertEqual([q.get("next_token", [""])[0] for q in catchup[:3]],
                                 ["", "p2", "p4"])
                self.assertEqual(catchup[0]["query"], ["from:AcmeSupport OR to:AcmeSupport"])
                # The stream sent the first tweet again: refused, not counted.
                code, text = d.get("/metrics")
                self.assertIn(f'deflectd_posts_total{{source="x:x"}} '
                              f'{d.db("SELECT count(*) FROM posts")[0][0] - rows}\n', text)
                self.assertEqual(d.db("SELECT count(*) FROM posts")[0][0] - rows, 5)
                status_conf = os.path.join(t, "status.conf")
                with open(d.conf) as f, open(status_conf, "w") as g:
                    g.write(f.read().replace("127.0.0.1:0", f"127.0.0.1:{d.port}"))
                p = subprocess.run([DEFLECTD, "status", "-c", status_conf], capture_output=True,
                                   text=True, timeout=30)
                self.assertRegex(p.stdout, r"source x:x: connected, last byte \d+s ago, ")
                # A source with nothing to poll has never heard a byte.
                self.assertIn("source bluesky:idle: DOWN, last byte never, 0 reconnects",
                              p.stdout)
                d.stop()
        finally:
            tl.close()

    def test_lost_gap_and_flapping_stream(self):
        """A catch-up X refuses for good (400: since_id past search's 7 days)
        gives the gap up with a warning and the stream moves the position
        on; a stream that drops as soon as it opens costs one search per
        poll_interval, not one per connection."""
        tl = Timeline()
        try:
            with tmpdir() as t:
                with open(os.path.join(t, "x.token"), "w") as f:
                    f.write("x-bearer-abc\n")
                d = Daemon(t, extra=(
                    "[brand acme]\ntwitter = AcmeSupport\n"
                    f"[source x]\ntype = x\nurl = {tl.url}\nbearer_token_file = x.token\n"
                    "stall_timeout = 5s\npoll_interval = 1s\nbackoff_scale = 0.01\n"))
                first = tweet("1790000000000000010", "@jane_doe Hello!", "200", iso(-100))
                tl.streamed = [first]
                d.start()
                d.wait_db("SELECT value FROM positions WHERE source = 'x:x/since_id'",
                          [(first["id"],)])
                d.stop()

                later = tweet("1790000000000000020", "@jane_doe Later!", "200", iso(-10))
                tl.streamed = [first, later]
                tl.refuse_since = True
                d.start()
                d.wait_log(r"source x: cannot catch up from tweet 1790000000000000010 "
                           r"\(HTTP 400\): tweets of that gap are lost")
                d.wait_db("SELECT value FROM positions WHERE source = 'x:x/since_id'",
                          [(later["id"],)])
                d.stop()

                tl.refuse_since = False
                tl.flap = True
                before, conns = len(tl.searches), tl.connections
                d.start()
                time.sleep(3)
                catchups = [q for q in tl.searches[before:] if "since_id" in q]
                self.assertGreater(tl.connections - conns, 15)
                self.assertLessEqual(len(catchups), 5)
                d.stop()
        finally:
            tl.close()

    def test_drop_during_catch_up_is_caught_up_too(self):
        """The stream drops while a catch-up is out: the tweet posted in that
        second gap (too new for the search that was out, never streamed) is
        read by another round from the newest tweet the first one found,
        not skipped because the next connection streamed something newer."""
        tl = Timeline()
        try:
            with tmpdir() as t:
                with open(os.path.join(t, "x.token"), "w") as f:
                    f.write("x-bearer-abc\n")
                d = Daemon(t, extra=(
                    "[brand acme]\ntwitter = AcmeSupport\n"
                    f"[source x]\ntype = x\nurl = {tl.url}\nbearer_token_file = x.token\n"
                    "stall_timeout = 5s\npoll_interval = 1s\nbackoff_scale = 0.01\n"))
                first = tweet("1790000000000000010", "@jane_doe Hello!", "200", iso(-100))
                tl.streamed = [first]
                d.start()
                d.wait_db("SELECT value FROM positions WHERE source = 'x:x/since_id'",
                          [(first["id"],)])
                d.stop()

                gap = tweet("1790000000000000015", "@jane_doe While you were away", "200",
                            iso(-60))
                lost = tweet("1790000000000000020", "@jane_doe Between the drops", "200",
                             iso(-30))
                new = tweet("1790000000000000030", "@jane_doe On the new stream", "200",
                            iso(-5))
                tl.timeline = [first, gap, lost, new]
                # The first catch-up answers late and cannot see "lost" yet; the
                # stream it started under drops meanwhile, and the next one
                # streams "new" only.
                tl.first_catchup = (2.0, {lost["id"], new["id"]})
                tl.script = [([first], 0.8), ([new], 20)]
                d.start()
                d.wait_db(f"SELECT count(*) FROM posts WHERE id = '{lost['id']}'", [(1,)],
                          timeout=15)
                catchups = [q["since_id"][0] for q in tl.searches if "since_id" in q]
                self.assertEqual(catchups[:2], [first["id"], gap["id"]])
                d.wait_db("SELECT value FROM positions WHERE source = 'x:x/since_id'",
                          [(new["id"],)])
                d.stop()
        finally:
            tl.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
