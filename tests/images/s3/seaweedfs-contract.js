'use strict';
// The entrypoint of the s3 image: the harness's S3 server
// (tests/harness/lib/s3-server.js, @20minutes/s3rver behind a SigV4 gate)
// started the way the platform starts SeaweedFS (lib/platform/services.c):
//
//   server -dir=/data -s3 -s3.port=9000
//   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: the one key it accepts
//   AWS_REGION (or AWS_DEFAULT_REGION): the region to sign for (us-east-1)
//   health: GET http://127.0.0.1:8080/healthz, 200 once S3 answers
//
// Objects live under -dir, so they survive a restart. There is one key and
// no IAM API: run the platform with TOWLION_S3_ADMIN_API=none.
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

function fail(msg) {
  console.error(`s3: ${msg}`);
  process.exit(2);
}

const argv = process.argv.slice(2);
if (argv[0] !== 'server') fail(`the only command is "server" (weed server -dir=DIR -s3 -s3.port=PORT), not "${argv.join(' ')}"`);
const opts = { dir: '/data', s3: false, 's3.port': '8333', 'ip.bind': '0.0.0.0' };
for (const arg of argv.slice(1)) {
  const m = /^--?([a-z0-9.]+)(?:=(.*))?$/.exec(arg);
  if (!m || !(m[1] in opts)) fail(`unsupported option ${arg} (this stand-in knows -${Object.keys(opts).join(', -')})`);
  opts[m[1]] = m[2] === undefined ? true : m[2];
}
if (!opts.s3) fail('-s3 is required: this stand-in only serves S3');
const port = Number(opts['s3.port']);
if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`-s3.port=${opts['s3.port']} is not a port`);
for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
  if (!process.env[k]) fail(`${k} is not set: the server needs its admin key`);
}

// s3-server.js reads its configuration from the environment when loaded.
process.env.TL_S3_MODULE = path.join(__dirname, 'node_modules', '@20minutes', 's3rver');
process.env.TL_S3_ADDRESS = opts['ip.bind'];
process.env.TL_S3_PORT = String(port);
process.env.TL_S3_DIR = opts.dir;
process.env.TL_S3_REGION = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1';
process.env.TL_S3_ACCESS_KEY = process.env.AWS_ACCESS_KEY_ID;
process.env.TL_S3_SECRET_KEY = process.env.AWS_SECRET_ACCESS_KEY;
require('./s3-server.js');

// Healthy when the S3 port accepts a connection.
http.createServer((req, res) => {
  if (req.url !== '/healthz') {
    res.writeHead(404).end();
    return;
  }
  const probe = net.connect({ host: '127.0.0.1', port });
  probe.setTimeout(2000);
  const answer = (code) => {
    probe.destroy();
    if (!res.headersSent) res.writeHead(code, { 'content-type': 'text/plain' }).end(code === 200 ? 'ok\n' : 'S3 is not answering\n');
  };
  probe.once('connect', () => answer(200));
  probe.once('error', () => answer(503));
  probe.once('timeout', () => answer(503));
}).listen(8080, '0.0.0.0');
