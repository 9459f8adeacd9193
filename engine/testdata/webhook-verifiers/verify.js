// Verifies webhooks hookwire sent with the official Standard Webhooks and
// Svix libraries. Reads {"hooks": [{"secret", "body", "headers"}]} from
// stdin; prints one line per hook: {"standardwebhooks": "ok" | error,
// "svix": "ok" | error}.
const { Webhook: StandardWebhook } = require("standardwebhooks");
const { Webhook: SvixWebhook } = require("svix");

let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  for (const hook of JSON.parse(input).hooks) {
    const result = {};
    for (const [name, Verifier] of [["standardwebhooks", StandardWebhook], ["svix", SvixWebhook]]) {
      try {
        new Verifier(hook.secret).verify(hook.body, hook.headers);
        result[name] = "ok";
      } catch (err) {
        result[name] = String(err && err.message ? err.message : err);
      }
    }
    console.log(JSON.stringify(result));
  }
});
