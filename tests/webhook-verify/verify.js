// Reads {"secret", "requests": [{"headers", "body"}]} on stdin and verifies
// every request with the reference Standard Webhooks implementation.
// Prints one line per request: "ok <webhook-id>" or "bad <webhook-id> <reason>".
const { Webhook } = require("standardwebhooks");
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const { secret, requests } = JSON.parse(input);
  const wh = new Webhook(secret);
  for (const r of requests) {
    try {
      wh.verify(r.body, r.headers);
      console.log("ok " + r.headers["webhook-id"]);
    } catch (e) {
      console.log("bad " + r.headers["webhook-id"] + " " + e.message);
    }
  }
});
