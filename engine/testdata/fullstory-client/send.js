// Sends Create Event requests to hookwire with Fullstory's official Node
// client, as an existing Fullstory integration would. The client speaks
// HTTPS only and reads its host from FS_API_HOST when NODE_ENV is test.
// Usage: node send.js <apiKey> <json array of Create Event bodies>
const { init } = require('@fullstory/server-api-client');

async function main() {
  const [apiKey, bodies] = process.argv.slice(2);
  const { events } = init({ apiKey });
  for (const body of JSON.parse(bodies)) {
    const rsp = await events.create({ body });
    console.log(JSON.stringify({ status: rsp.httpStatusCode, body: rsp.body }));
  }
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
