"""The Mastodon source against a local Mastodon on 127.0.0.1: the streaming
API (server-sent events with ':thump' heartbeats) and the REST endpoints the
source uses (instance, account lookup, an account's statuses with Mastodon's
paging, a status's context). Covered: a dropped connection, a stalled one, a
malformed event, a case resolved from its thread's context, the streaming
server named by the instance, catch-up without gaps or duplicates across a
restart, and a streamed deflection that ends in a signed unresolved alert."""
import json
import os
import queue
import re
import threading
import time
import unittest
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from common import JSONHandler, Receiver, signature_ok, tmpdir
from daemon_harness import Daemon, iso

BRAND = "AcmeCare"
BRAND_ID = "9001"
KEY = f"social/since_id/{BRAND}@social.example"
TOKEN = "user-token-xyz"
SECRET = "whsec_c2VjcmV0LWZvci10aGUtbWFzdG9kb24tdGVzdA=="


def status(id, text, acct, at, reply=None):
    return {"id": id, "created_at": at, "in_reply_to_id": reply, "in_reply_to_account_id": None,
            "sensitive": False, "spoiler_text": "", "visibility": "public", "language": "en",
            "uri": f"https://social.example/users/{acct}/statuses/{id}",
            "url": f"https://social.example/@{acct}/{id}", "content": f"<p>{text}</p>",
            "reblog": None, "account": {"id": "1" + id[-3:], "username": acct, "acct": acct,
                                        "url": f"https://social.example/@{acct}"},
            "media_attachments": [], "mentions": [], "tags": [], "emojis": []}


def update(st):
    return "event: update\ndata: " + json.dumps(st) + "\n\n"


class Mastodon:
    """A Mastodon instance: REST as docs.joinmastodon.org describes it, and the
    streaming API under prefix. Every request is recorded as (path, query,
    Authorization). The stream sends ':)' then whatever publish() puts on it,
    with a heartbeat every 0.3 s; script(n, handler), when set, may take over
    connection n (from 1) and returns True when it did."""

    def __init__(self, prefix=""):
        self.prefix = prefix
        self.instance = None          # the /api/v2/instance answer; None: 404
        self.accounts = {}            # acct -> (id, [statuses])
        self.contexts = {}            # focal id -> callable returning the context
        self.requests = []
        self.streams = 0              # stream connections so far
        self.script = None
        self.live = []                # a queue per open stream
        self.closed = False
        srv = self

        class Handler(JSONHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                u = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(u.query).items()}
                srv.requests.append((u.path, q, self.headers.get("Authorization")))
                if u.path == srv.prefix + "/api/v1/streaming/user":
                    return self.stream()
                if u.path == "/api/v2/instance" and srv.instance is not None:
                    return self.reply(200, srv.instance)
                if u.path == "/api/v1/accounts/lookup":
                    acct = q.get("acct", "")
                    for name, (aid, _) in srv.accounts.items():
                        if acct in (name, name + "@social.example"):
                            return self.reply(200, {"id": aid, "username": name, "acct": name})
                    return self.reply(404, {"error": "Record not found"})
                m = re.fullmatch(r"/api/v1/accounts/(\w+)/statuses", u.path)
                if m:
                    for aid, statuses in srv.accounts.values():
                        if aid == m.group(1):
                            return self.reply(200, page(statuses, q))
                    return self.reply(404, {"error": "Record not found"})
                m = re.fullmatch(r"/api/v1/statuses/(\w+)/context", u.path)
                if m and m.group(1) in srv.contexts:
                    return self.reply(200, srv.contexts[m.group(1)]())
                self.reply(404, {"error": "Record not found"})

            def chunk(self, text):
                data = text.encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            def stream(self):
                srv.streams += 1
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    if srv.script is not None and srv.script(srv.streams, self):
                        return
                    q = queue.Queue()
                    srv.live.append(q)
                    try:
                        self.chunk(":)\n\n")
                        while not srv.closed:
                            try:
                                self.chunk(q.get(timeout=0.3))
                            except queue.Empty:
                                self.chunk(":thump\n\n")
                    finally:
                        srv.live.remove(q)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, acct, st, stream=True):
        """Adds a status to acct's timeline and, when stream, to every open stream."""
        self.accounts[acct][1].append(st)
        if stream:
            self.push(st)

    def push(self, st):
        """Sends a status on every open stream (a customer's, say: no timeline kept)."""
        for q in list(self.live):
            q.put(update(st))

    def statuses_requests(self, since=0):
        return [q for p, q, _ in self.requests[since:]
                if p.startswith("/api/v1/accounts/") and p.endswith("/statuses")]

    def wait_stream(self, timeout=10):
        deadline = time.monotonic() + timeout
        while not self.live and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.live, "no stream connected"

    def close(self):
        self.closed = True
        self.server.shutdown()
        self.server.server_close()


def page(statuses, q):
    """Mastodon's paging of a timeline: max_id, since_id and min_id bound ids;
    with min_id the page is the oldest after it, else the newest; either way
    the answer lists newest first."""
    limit = min(int(q.get("limit", 20)), 40)
    ids = sorted(statuses, key=lambda s: int(s["id"]))
    if "max_id" in q:
        ids = [s for s in ids if int(s["id"]) < int(q["max_id"])]
    if "min_id" in q:
        ids = [s for s in ids if int(s["id"]) > int(q["min_id"])][:limit]
    else:
        if "since_id" in q:
            ids = [s for s in ids if int(s["id"]) > int(q["since_id"])]
        ids = ids[-limit:]
    return list(reversed(ids))


def brand_status(n, text="thanks, glad it works"):
    """The nth status of the brand account. Ids cross from 17 to 18 digits
    at n = 10, where comparing ids as strings would go wrong."""
    return status(str(99999999999999990 + n), f"@cust{n} {text}", BRAND, iso(-300 + n))


def daemon(t, srv, extra="", window="1h", **kw):
    with open(os.path.join(t, "masto.token"), "w") as f:
        f.write(TOKEN + "\n")
    return Daemon(t, window=window, extra=(
        f"[brand acme]\nmastodon = {BRAND}@social.example\n"
        f"[source social]\ntype = mastodon\nurl = {srv.url}\n"
        "token_file = masto.token\ninstance = social.example\n" + extra), **kw)


def metric(d, name):
    _, text = d.get("/metrics")
    m = re.search(r'^%s\{source="mastodon:social"\} (\d+)$' % name, text, re.M)
    return int(m.group(1)) if m else None


def wait(cond, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class MastodonSource(unittest.TestCase):
    def setUp(self):
        self.t = tmpdir()
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.close()
        self.t.cleanup()

    def server(self, **kw):
        s = Mastodon(**kw)
        self.servers.append(s)
        return s

    def test_stream_drop_stall_and_context(self):
        srv = self.server()
        resolved = []
        q = status("110000000000000001", "@AcmeCare my drafts vanish", "erin", iso(-120))
        a = status("110000000000000002", "@erin So sorry! Please DM us.",
                   "AcmeCare", iso(-60), q["id"])
        r = status("110000000000000003", "@AcmeCare all sorted, thanks", "erin", iso(-5),
                   a["id"])
        srv.contexts[a["id"]] = lambda: {"ancestors": [q], "descendants": [r] if resolved else []}

        def script(n, h):
            if n == 1:
                # Events, a malformed one, then the server drops the connection.
                h.chunk(":)\n\n")
                h.chunk(update(q))
                h.chunk("event: update\ndata: {\"id\": 5}\n\n")
                h.chunk(update(a))
                h.chunk("event: delete\ndata: 109999999999999999\n\n")
                time.sleep(0.3)
                h.wfile.write(b"0\r\n\r\n")
                h.close_connection = True
                return True
            if n == 2:
                time.sleep(4)  # says nothing: the client must call it stalled
                return True
            return False  # healthy: heartbeats only
        srv.script = script
        # No instance endpoint and no account known here: both are logged, and
        # the stream comes from the instance's own URL.
        d = daemon(self.t.name, srv, "stall_timeout = 1s\npoll_interval = 1s\n"
                   "backoff_base = 1s\nbackoff_max = 2s\n").start()
        d.wait_db("SELECT platform, customer, state FROM cases",
                  [("mastodon", "erin@social.example", "deflected")])
        d.wait_log(r"<5>source social: no /api/v2/instance \(HTTP 404; Mastodon before 4\.0\?\); "
                   r"streaming from " + re.escape(srv.url) + "$")
        d.wait_log(r"source social: catching up on AcmeCare@social.example: HTTP 404; "
                   r"trying again every 1s")
        d.wait_log(r"source social: malformed update event")
        d.wait_log(r"source social: stream ended")
        d.wait_log(r"source social: no byte for 1s: stream stalled", timeout=15)
        resolved.append(True)
        d.wait_db("SELECT state FROM cases", [("resolved",)], timeout=15)
        # After the stall, the stream is back and its heartbeats keep it up.
        wait(lambda: srv.streams >= 3, what="the third connection")
        self.assertEqual(srv.streams, 3)
        n = len(d.log)
        time.sleep(2.5)
        self.assertFalse(any("stalled" in l for l in d.log[n:]), d.log[n:])
        # A failing account is logged once, not every round.
        self.assertEqual(sum("catching up on" in l for l in d.log), 1, d.log)
        self.assertTrue(all(a == "Bearer " + TOKEN for _, _, a in srv.requests))
        self.assertFalse(any(TOKEN in l for l in d.log))
        d.stop()

    def test_streaming_server_named_by_the_instance(self):
        rest = self.server()
        streamer = self.server(prefix="/streaming-base")
        rest.accounts[BRAND] = (BRAND_ID, [])
        rest.instance = {"domain": "social.example", "version": "4.3.0",
                         "configuration": {"urls": {"streaming":
                                                    f"ws://127.0.0.1:{streamer.port}/streaming-base/"},
                                           "statuses": {"max_characters": 500}}}
        d = daemon(self.t.name, rest, "stall_timeout = 5s\npoll_interval = 1s\n").start()
        d.wait_log(r"source social: streaming http://127\.0\.0\.1:%d/streaming-base"
                   r"/api/v1/streaming/user$" % streamer.port)
        streamer.wait_stream()
        d.wait_log(r"source social: stream connected")
        st = status("110000000000000007", "@erin hello from the streaming host", BRAND, iso())
        streamer.push(st)
        wait(lambda: d.db("SELECT id FROM posts WHERE platform = 'mastodon'") == [(st["id"],)],
             what="the streamed status")
        # The instance was asked (alongside the catch-up's account lookup, in
        # either order); the stream never went to the REST host.
        paths = [p for p, _, _ in rest.requests]
        self.assertIn("/api/v2/instance", paths)
        self.assertFalse(any("/streaming" in p for p in paths), paths)
        self.assertEqual([(p, a) for p, _, a in streamer.requests],
                         [("/streaming-base/api/v1/streaming/user", "Bearer " + TOKEN)])
        d.stop()

    def test_catch_up_after_restart_without_gaps_or_duplicates(self):
        srv = self.server()
        # History from before deflectd ever ran: only the newest page is taken.
        history = [brand_status(n) for n in range(45)]
        srv.accounts[BRAND] = (BRAND_ID, list(history))
        d = daemon(self.t.name, srv, "stall_timeout = 5s\npoll_interval = 1s\n"
                   "backoff_base = 1s\nbackoff_max = 1s\n").start()
        wait(lambda: d.db("SELECT value FROM positions WHERE source = ?", (KEY,))
             == [(history[-1]["id"],)], what="the first position")
        self.assertEqual(srv.statuses_requests()[0], {"limit": "40"})
        self.assertEqual(sorted(int(i) for (i,) in d.db("SELECT id FROM posts")),
                         sorted(int(s["id"]) for s in history[5:]))

        # Live: two statuses come on the stream; rounds see them too.
        srv.wait_stream()
        streamed = [brand_status(n) for n in (45, 46)]
        for st in streamed:
            srv.publish(BRAND, st)
        newest = streamed[-1]["id"]
        wait(lambda: d.db("SELECT value FROM positions WHERE source = ?", (KEY,))
             == [(newest,)], what="the position to reach the streamed statuses")
        wait(lambda: (metric(d, "deflectd_posts_total"), metric(d, "deflectd_duplicate_posts_total"))
             == (42, 2), what="42 posts and the 2 streamed ones refused again by a round")
        lookups = [p for p, _, _ in srv.requests if p == "/api/v1/accounts/lookup"]
        self.assertEqual(len(lookups), 1)  # the account id is remembered
        d.stop()

        # Down: 45 statuses, more than a page, reachable only through REST.
        missed = [brand_status(n) for n in range(47, 92)]
        for st in missed:
            srv.publish(BRAND, st, stream=False)
        mark = len(srv.requests)
        d.start()
        wait(lambda: d.db("SELECT value FROM positions WHERE source = ?", (KEY,))
             == [(missed[-1]["id"],)], what="the position to reach the missed statuses")
        # The page that brings nothing is asked for after the second page is
        # stored, so the position can get there first.
        wait(lambda: len(srv.statuses_requests(mark)) >= 3, what="the third page request")
        asked = srv.statuses_requests(mark)
        # The restart asks for what follows the newest id seen before stopping,
        # then for what follows each page, until a page brings nothing.
        self.assertEqual(asked[0], {"min_id": newest, "limit": "40"})
        self.assertEqual(asked[1], {"min_id": missed[39]["id"], "limit": "40"})
        self.assertEqual(asked[2], {"min_id": missed[-1]["id"], "limit": "40"})
        self.assertFalse(any("since_id" in q for q in asked), asked)
        wait(lambda: metric(d, "deflectd_posts_total") == 45, what="45 new posts")
        self.assertEqual(metric(d, "deflectd_duplicate_posts_total"), 0)
        # Every status once: the state holds each id exactly once, and nothing else.
        ids = [int(i) for (i,) in d.db("SELECT id FROM posts WHERE platform = 'mastodon'")]
        self.assertEqual(sorted(ids), sorted(int(s["id"]) for s in history[5:] + streamed + missed))
        self.assertEqual(len(ids), len(set(ids)))
        # Live again after the catch-up: the stream still feeds new posts in.
        srv.wait_stream()
        late = brand_status(92)
        srv.publish(BRAND, late)
        wait(lambda: metric(d, "deflectd_posts_total") == 46, what="the live post")
        d.stop()

    def test_streamed_deflection_to_unresolved_alert(self):
        srv = self.server()
        rx = Receiver()
        try:
            with open(os.path.join(self.t.name, "ops.secret"), "w") as f:
                f.write(SECRET + "\n")
            q = status("110000000000000101", "@AcmeCare my parcel never came", "erin", iso(-1))
            a = status("110000000000000102", "@erin So sorry! Please DM us your order number.",
                       BRAND, iso(), q["id"])
            srv.accounts[BRAND] = (BRAND_ID, [])
            srv.contexts[a["id"]] = lambda: {"ancestors": [q], "descendants": []}
            d = daemon(self.t.name, srv,
                       "stall_timeout = 5s\npoll_interval = 1s\n"
                       f"[webhook ops]\nurl = {rx.url}\nsecret_file = ops.secret\n"
                       "types = deflection.unresolved\nretry_base = 1s\n", window="2s").start()
            srv.wait_stream()
            srv.push(q)
            srv.publish(BRAND, a)
            d.wait_db("SELECT customer, state FROM cases", [("erin@social.example", "deflected")])
            reqs = rx.wait(1, timeout=20)
            d.wait_db("SELECT state FROM cases", [("unresolved",)])
            d.wait_db("SELECT state FROM deliveries", [("delivered",)])
            d.stop()
        finally:
            rx.close()
        self.assertEqual(len(rx.requests), 1)
        r = reqs[0]
        self.assertTrue(signature_ok(SECRET, r["headers"], r["body"]), r["headers"])
        self.assertFalse(signature_ok("whsec_" + "d3Jvbmc=", r["headers"], r["body"]))
        doc = json.loads(r["body"])
        self.assertEqual(doc["type"], "deflection.unresolved")
        self.assertEqual(r["headers"]["webhook-id"], doc["id"])
        self.assertEqual(doc["case"]["platform"], "mastodon")
        self.assertEqual(doc["case"]["brand"], "acme")
        self.assertEqual(doc["case"]["conversation_id"], q["id"])
        self.assertEqual(doc["case"]["customer"], "erin@social.example")
        self.assertEqual(doc["case"]["state"], "unresolved")
        self.assertEqual(doc["deflection"]["post_id"], a["id"])
        self.assertEqual(doc["deflection"]["url"], a["url"])
        self.assertEqual(doc["deflection"]["rule"], "dm")
        self.assertEqual(doc["deflection"]["match"], "DM us")


if __name__ == "__main__":
    unittest.main(verbosity=2)
