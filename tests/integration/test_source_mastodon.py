"""The Mastodon source against a local server on 127.0.0.1 speaking the
streaming API (server-sent events with ':thump' heartbeats) and the REST
context endpoint: a dropped connection, a stalled one, a malformed event,
and the case resolved from the thread's context."""
import json
import os
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common import tmpdir
from daemon_harness import Daemon, iso


def status(id, text, acct, at, reply=None):
    return {"id": id, "created_at": at, "in_reply_to_id": reply, "in_reply_to_account_id": None,
            "sensitive": False, "spoiler_text": "", "visibility": "public", "language": "en",
            "uri": f"https://social.example/users/{acct}/statuses/{id}",
            "url": f"https://social.example/@{acct}/{id}", "content": f"<p>{text}</p>",
            "reblog": None, "account": {"id": "1" + id[-3:], "username": acct, "acct": acct,
                                        "url": f"https://social.example/@{acct}"},
            "media_attachments": [], "mentions": [], "tags": [], "emojis": []}


class Server:
    def __init__(self):
        self.connections = 0
        self.resolved = False
        self.auth = []
        q = status("110000000000000001", "@AcmeCare my drafts vanish", "erin", iso(-120))
        a = status("110000000000000002", "@erin So sorry! Please DM us.",
                   "AcmeCare", iso(-60), q["id"])
        r = status("110000000000000003", "@AcmeCare all sorted, thanks", "erin", iso(-5),
                   a["id"])
        srv = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                srv.auth.append(self.headers.get("Authorization"))
                if self.path.startswith("/api/v1/streaming/user"):
                    return self.stream()
                if self.path == f"/api/v1/statuses/{a['id']}/context":
                    body = json.dumps({"ancestors": [q],
                                       "descendants": [r] if srv.resolved else []}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def chunk(self, text):
                data = text.encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            def stream(self):
                srv.connections += 1
                n = srv.connections
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    if n == 1:
                        # Events, a malformed one, then the server drops the connection.
                        self.chunk(":)\n\n")
                        self.chunk("event: update\ndata: " + json.dumps(q) + "\n\n")
                        self.chunk("event: update\ndata: {\"id\": 5}\n\n")
                        self.chunk("event: update\ndata: " + json.dumps(a) + "\n\n")
                        self.chunk("event: delete\ndata: 109999999999999999\n\n")
                        time.sleep(0.3)
                        self.wfile.write(b"0\r\n\r\n")
                        self.close_connection = True
                        return
                    if n == 2:
                        time.sleep(4)  # says nothing: the client must call it stalled
                        return
                    # Healthy: heartbeats only, until the test ends.
                    for _ in range(100):
                        self.chunk(":thump\n\n")
                        time.sleep(0.3)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class MastodonSource(unittest.TestCase):
    def test_stream_drop_stall_and_context(self):
        srv = Server()
        try:
            with tmpdir() as t:
                with open(os.path.join(t, "masto.token"), "w") as f:
                    f.write("user-token-xyz\n")
                d = Daemon(t, extra=(
                    "[brand acme]\nmastodon = AcmeCare@social.example\n"
                    f"[source social]\ntype = mastodon\nurl = {srv.url}\n"
                    "token_file = masto.token\ninstance = social.example\n"
                    "stall_timeout = 1s\npoll_interval = 1s\n"
                    "backoff_base = 1s\nbackoff_max = 2s\n"))
                d.start()
                d.wait_db("SELECT platform, customer, state FROM cases",
                          [("mastodon", "erin@social.example", "deflected")])
                d.wait_log(r"source social: malformed update event")
                d.wait_log(r"source social: stream ended")
                d.wait_log(r"source social: no byte for 1s: stream stalled", timeout=15)
                srv.resolved = True
                d.wait_db("SELECT state FROM cases", [("resolved",)], timeout=15)
                # After the stall, the stream is back and its heartbeats keep it up.
                deadline = time.monotonic() + 10
                while srv.connections < 3 and time.monotonic() < deadline:
                    time.sleep(0.1)
                self.assertEqual(srv.connections, 3)
                n = len(d.log)
                time.sleep(2.5)
                self.assertFalse(any("stalled" in l for l in d.log[n:]), d.log[n:])
                self.assertTrue(all(a == "Bearer user-token-xyz" for a in srv.auth))
                self.assertFalse(any("user-token-xyz" in l for l in d.log))
                d.stop()
        finally:
            srv.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
