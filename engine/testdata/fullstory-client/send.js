// Sends events to hookwire with Fullstory's official Node client, as an
// existing Fullstory integration would. The client speaks HTTPS only and
// reads its host from FS_API_HOST when NODE_ENV is test.
// Usage:
//   node send.js <apiKey> <json array of Create Event bodies>
//     one events.create call per body; prints each answer's status
//   node send.js <apiKey> <json Create Batch Events Import Job body> batch
//     events.batchCreate: the client creates the job, polls its status and
//     reads back its imports; prints how the job ended
const { init } = require('@fullstory/server-api-client');

async function main() {
  const [apiKey, bodies, mode] = process.argv.slice(2);
  const { events } = init({ apiKey });
  if (mode === 'batch') {
    await batch(events, JSON.parse(bodies));
    return;
  }
  for (const body of JSON.parse(bodies)) {
    const rsp = await events.create({ body });
    console.log(JSON.stringify({ status: rsp.httpStatusCode, body: rsp.body }));
  }
}

function batch(events, body) {
  return new Promise((resolve) => {
    const job = events.batchCreate({ body }, { pollInterval: 50, maxRetry: 1 });
    let id = '';
    job.on('created', (j) => { id = j.getId(); });
    job.on('done', (imports, failed) => {
      console.log(JSON.stringify({ outcome: 'done', id, status: job.getStatus(), imports, failed }));
      resolve();
    });
    job.on('abort', (errors) => {
      console.log(JSON.stringify({ outcome: 'abort', errors: errors.map((e) => String(e && e.message)) }));
      resolve();
    });
    job.execute();
  });
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  process.exit(1);
});
