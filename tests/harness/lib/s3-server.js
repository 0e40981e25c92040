'use strict';
// S3 server for the libtowlion test harness.
//
// It runs the npm package @20minutes/s3rver (a fork of s3rver that, unlike
// s3rver 3.x on npm, really verifies AWS Signature V4: it recomputes the
// canonical request and string to sign from the request and compares the HMAC
// with the one sent, for the Authorization header and for presigned URLs).
// scripts/setup installs it under /opt/towlion-test/s3 from
// tests/harness/s3/package-lock.json.
//
// s3rver alone would still let a careless client through, so a gate in front
// of it makes the server behave like a real S3 for what a client library can
// get wrong:
//   - one access key, ours (s3rver's built-in S3RVER/S3RVER key is revoked);
//   - anonymous (unsigned) requests are refused with 403 AccessDenied;
//   - only SigV4 is accepted (SigV2 gets 400 InvalidRequest);
//   - the credential scope must be <date>/<our region>/s3/aws4_request and its
//     date must match X-Amz-Date;
//   - the request time must be within 15 minutes of the server's clock;
//   - `host` and every x-amz-* header sent must be signed;
//   - a hex x-amz-content-sha256 must equal the SHA-256 of the body
//     (400 XAmzContentSHA256Mismatch).  UNSIGNED-PAYLOAD is accepted; the
//     chunk signatures of STREAMING-AWS4-HMAC-SHA256-PAYLOAD are not checked.
//
// Edge cases where s3rver's canonical request still differs from AWS's (so a
// client doing them the AWS way is refused here, and one doing them the
// s3rver way is accepted here but would be refused by AWS): query parameters
// are sorted as "name=value" strings rather than by name (differs only when a
// name is a prefix of another followed by a character below "="); repeated
// query parameters and inner runs of spaces in header values are not
// normalised.
//
// A small IAM query API on the same port, as SeaweedFS serves it (so the
// platform image can give each app a user and keys of its own): POST / with
// a form body signed for service "iam" by the admin key; CreateUser,
// PutUserPolicy, DeleteUserPolicy, DeleteUser, CreateAccessKey,
// ListAccessKeys, DeleteAccessKey. A user's key reaches only the buckets its
// policies Allow (arn:aws:s3:::BUCKET and BUCKET/*); a bucket-level Deny
// (towlion's policy denies bucket administration) is not modelled. Users
// and keys are kept in DIR/.iam.json (a file: never listed as a bucket).
//
// Configuration comes from the environment:
//   TL_S3_MODULE      directory of the @20minutes/s3rver package
//   TL_S3_ADDRESS     listen address (127.0.0.1)
//   TL_S3_PORT        listen port
//   TL_S3_DIR         data directory
//   TL_S3_REGION      region clients must sign for (us-east-1)
//   TL_S3_ACCESS_KEY, TL_S3_SECRET_KEY
//   TL_S3_PIDFILE     written once the server listens

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { Readable } = require('node:stream');

function need(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`s3-server: ${name} is not set`);
    process.exit(2);
  }
  return v;
}

const moduleDir = need('TL_S3_MODULE');
const address = process.env.TL_S3_ADDRESS || '127.0.0.1';
const port = Number(need('TL_S3_PORT'));
const directory = need('TL_S3_DIR');
const region = process.env.TL_S3_REGION || 'us-east-1';
const accessKey = need('TL_S3_ACCESS_KEY');
const secretKey = need('TL_S3_SECRET_KEY');
const pidfile = process.env.TL_S3_PIDFILE;

// Files inside the package are required by path: the package's entry point
// does not export its models.
const S3rver = require(path.join(moduleDir, 'lib', 's3rver.js'));
const AWSAccount = require(path.join(moduleDir, 'lib', 'models', 'account.js'));
const S3Error = require(path.join(moduleDir, 'lib', 'models', 'error.js'));

// s3rver builds the SigV4 canonical query string with encodeURIComponent,
// which leaves !'()* unencoded where AWS (RFC 3986) encodes them, so a
// correctly signed ListObjects with Prefix=a*( would be refused.  Make the
// global function RFC 3986-strict in this process; every other use of it
// (koa, content-disposition) is fine with the stricter encoding.
const jsEncodeURIComponent = globalThis.encodeURIComponent;
globalThis.encodeURIComponent = (s) =>
  jsEncodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const account = AWSAccount.DUMMY_ACCOUNT;
account.revokeAccessKey('S3RVER');
account.createKeyPair(accessKey, secretKey);

function s3error(status, code, message, detail) {
  const err = new S3Error(code, message, detail || {});
  err.status = status;
  err.expose = true;
  return err;
}

// Parse "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."
function parseAuthHeader(value) {
  const rest = value.slice(value.indexOf(' ') + 1);
  const parts = {};
  for (const piece of rest.split(',')) {
    const eq = piece.indexOf('=');
    if (eq > 0) parts[piece.slice(0, eq).trim()] = piece.slice(eq + 1).trim();
  }
  return parts;
}

function checkScope(credential, amzDate) {
  const [key, date, reg, service, term] = (credential || '').split('/');
  if (!key || !date || !reg || !service || term !== 'aws4_request') {
    throw s3error(400, 'AuthorizationHeaderMalformed',
      'The authorization header is malformed; the Credential is mal-formed; ' +
      'expecting <YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request.');
  }
  if (reg !== region) {
    throw s3error(400, 'AuthorizationHeaderMalformed',
      `The authorization header is malformed; the region ${reg} is wrong; expecting ${region}`,
      { Region: region });
  }
  if (service !== 's3') {
    throw s3error(400, 'AuthorizationHeaderMalformed',
      `The authorization header is malformed; incorrect service ${service}. This endpoint belongs to s3.`);
  }
  if (amzDate && String(amzDate).slice(0, 8) !== date) {
    throw s3error(400, 'AuthorizationHeaderMalformed',
      `The authorization header is malformed; Invalid credential date ${date}. ` +
      `This date is not the same as X-Amz-Date: ${String(amzDate).slice(0, 8)}.`);
  }
}

// X-Amz-Date (yyyyMMddTHHmmssZ) or an HTTP Date header, in ms since the epoch.
function parseRequestTime(value) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value || '');
  if (m) return Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  return value ? Date.parse(value) : NaN;
}

// s3rver's own skew check never fires (it tests Number.isNaN on a Date
// object, so an unparsable date slips through as NaN), so do it here: AWS
// refuses a request signed more than 15 minutes away from its clock.
function checkRequestTime(value) {
  const t = parseRequestTime(value);
  if (Number.isNaN(t)) {
    throw s3error(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  }
  if (Math.abs(Date.now() - t) > 15 * 60 * 1000) {
    throw s3error(403, 'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
      { RequestTime: value, ServerTime: new Date().toISOString().replace(/\.\d+/, '') });
  }
}

function checkSignedHeaders(ctx, signedHeaders) {
  const signed = new Set((signedHeaders || '').split(';').filter(Boolean));
  if (!signed.has('host')) {
    throw s3error(403, 'AccessDenied', 'The host header must be signed (SignedHeaders lacks host).');
  }
  const unsigned = Object.keys(ctx.req.headers)
    .filter((h) => h.startsWith('x-amz-') && !signed.has(h));
  if (unsigned.length) {
    throw s3error(403, 'AccessDenied',
      'There were headers present in the request which were not signed',
      { HeadersNotSigned: unsigned.join(', ') });
  }
}

async function verifyPayload(ctx, expected) {
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const actual = crypto.createHash('sha256').update(body).digest('hex');
  if (actual !== expected.toLowerCase()) {
    throw s3error(400, 'XAmzContentSHA256Mismatch',
      'The provided x-amz-content-sha256 header does not match what was computed.',
      { ClientComputedContentSHA256: expected, S3ComputedContentSHA256: actual });
  }
  // Hand s3rver a fresh stream with the same bytes.  Koa's ctx.headers,
  // ctx.method etc. read ctx.request.req, which stays the original request.
  const replay = Readable.from(body.length ? [body] : []);
  replay.headers = ctx.req.headers;
  replay.method = ctx.req.method;
  replay.url = ctx.req.url;
  ctx.req = replay;
}

// ---- IAM ----------------------------------------------------------------
const iamFile = path.join(directory, '.iam.json');
let iam = { users: {} }; // name -> { policies: {name: doc}, keys: {id: secret} }
try {
  iam = JSON.parse(fs.readFileSync(iamFile, 'utf8'));
} catch (e) {
  if (e.code !== 'ENOENT') throw e;
}
const keyOwner = new Map(); // access key id -> user name
for (const [name, u] of Object.entries(iam.users)) {
  for (const [id, secret] of Object.entries(u.keys)) {
    keyOwner.set(id, name);
    account.createKeyPair(id, secret);
  }
}
function iamSave() {
  const tmp = `${iamFile}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(iam), { mode: 0o600 });
  fs.renameSync(tmp, iamFile);
}

function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data).digest();
}

// SigV4 of an IAM request (POST /, no query), by the admin key only.
function iamVerify(ctx, body) {
  const h = ctx.req.headers;
  const parts = parseAuthHeader(h.authorization || '');
  const [key, date, reg, service, term] = (parts.Credential || '').split('/');
  if (key !== accessKey || reg !== region || service !== 'iam' || term !== 'aws4_request') {
    return false;
  }
  checkRequestTime(h['x-amz-date'] || h.date);
  const signed = (parts.SignedHeaders || '').split(';');
  const canonical = [ctx.method, '/', ctx.querystring || '',
    ...signed.map((n) => `${n}:${String(h[n] || '').trim().replace(/\s+/g, ' ')}`), '',
    parts.SignedHeaders, crypto.createHash('sha256').update(body).digest('hex')].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', h['x-amz-date'], `${date}/${reg}/${service}/aws4_request`,
    crypto.createHash('sha256').update(canonical).digest('hex')].join('\n');
  let k = hmac(`AWS4${secretKey}`, date);
  for (const p of [reg, service, 'aws4_request']) k = hmac(k, p);
  const want = hmac(k, toSign).toString('hex');
  return parts.Signature && parts.Signature.length === want.length &&
    crypto.timingSafeEqual(Buffer.from(parts.Signature), Buffer.from(want));
}

function xmlEscape(s) {
  return String(s).replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function iamAnswer(ctx, status, action, inner) {
  ctx.status = status;
  ctx.type = 'text/xml';
  ctx.body = status === 200
    ? `<${action}Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><${action}Result>` +
      `${inner}</${action}Result><ResponseMetadata><RequestId>${crypto.randomUUID()}` +
      '</RequestId></ResponseMetadata></' + `${action}Response>`
    : `<ErrorResponse><Error><Type>Sender</Type><Code>${inner[0]}</Code>` +
      `<Message>${xmlEscape(inner[1])}</Message></Error></ErrorResponse>`;
}

async function iamHandle(ctx) {
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  if (!iamVerify(ctx, body)) {
    return iamAnswer(ctx, 403, '', ['SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.']);
  }
  const f = new URLSearchParams(body.toString('utf8'));
  const action = f.get('Action');
  const name = f.get('UserName') || '';
  const user = iam.users[name];
  const noUser = ['NoSuchEntity', `The user with name ${name} cannot be found.`];
  switch (action) {
    case 'CreateUser':
      if (user) return iamAnswer(ctx, 409, action, ['EntityAlreadyExists', `User with name ${name} already exists.`]);
      iam.users[name] = { policies: {}, keys: {} };
      iamSave();
      return iamAnswer(ctx, 200, action, `<User><UserName>${xmlEscape(name)}</UserName></User>`);
    case 'PutUserPolicy':
      if (!user) return iamAnswer(ctx, 404, action, noUser);
      try {
        user.policies[f.get('PolicyName')] = JSON.parse(f.get('PolicyDocument'));
      } catch (e) {
        return iamAnswer(ctx, 400, action, ['MalformedPolicyDocument', e.message]);
      }
      iamSave();
      return iamAnswer(ctx, 200, action, '');
    case 'DeleteUserPolicy':
      if (!user || !(f.get('PolicyName') in user.policies)) return iamAnswer(ctx, 404, action, noUser);
      delete user.policies[f.get('PolicyName')];
      iamSave();
      return iamAnswer(ctx, 200, action, '');
    case 'DeleteUser':
      if (!user) return iamAnswer(ctx, 404, action, noUser);
      if (Object.keys(user.keys).length || Object.keys(user.policies).length) {
        return iamAnswer(ctx, 409, action, ['DeleteConflict', 'Cannot delete entity, must delete keys and policies first.']);
      }
      delete iam.users[name];
      iamSave();
      return iamAnswer(ctx, 200, action, '');
    case 'CreateAccessKey': {
      if (!user) return iamAnswer(ctx, 404, action, noUser);
      const id = `AKIA${crypto.randomBytes(8).toString('hex').toUpperCase()}`;
      const secret = crypto.randomBytes(30).toString('base64').replace(/[+/=]/g, 'x');
      user.keys[id] = secret;
      keyOwner.set(id, name);
      account.createKeyPair(id, secret);
      iamSave();
      return iamAnswer(ctx, 200, action, `<AccessKey><UserName>${xmlEscape(name)}</UserName>` +
        `<AccessKeyId>${id}</AccessKeyId><Status>Active</Status>` +
        `<SecretAccessKey>${secret}</SecretAccessKey></AccessKey>`);
    }
    case 'ListAccessKeys':
      if (!user) return iamAnswer(ctx, 404, action, noUser);
      return iamAnswer(ctx, 200, action, '<AccessKeyMetadata>' + Object.keys(user.keys).map((id) =>
        `<member><UserName>${xmlEscape(name)}</UserName><AccessKeyId>${id}</AccessKeyId>` +
        '<Status>Active</Status></member>').join('') + '</AccessKeyMetadata><IsTruncated>false</IsTruncated>');
    case 'DeleteAccessKey': {
      const id = f.get('AccessKeyId');
      if (!user || !(id in user.keys)) return iamAnswer(ctx, 404, action, noUser);
      delete user.keys[id];
      keyOwner.delete(id);
      account.revokeAccessKey(id);
      iamSave();
      return iamAnswer(ctx, 200, action, '');
    }
    default:
      return iamAnswer(ctx, 400, action, ['InvalidAction', `Action ${action} is not served here.`]);
  }
}

// The buckets a user's policies Allow.
function allowedBuckets(name) {
  const out = new Set();
  for (const doc of Object.values((iam.users[name] || { policies: {} }).policies)) {
    for (const st of [].concat(doc.Statement || [])) {
      if (st.Effect !== 'Allow') continue;
      for (const r of [].concat(st.Resource || [])) {
        const m = /^arn:aws:s3:::([^/*]+)(\/.*)?$/.exec(r);
        if (m) out.add(m[1]);
      }
    }
  }
  return out;
}

// A user's key (not the admin's) reaches only its policies' buckets.
function authorize(ctx, key) {
  const name = keyOwner.get(key);
  if (!name) return;
  const bucket = decodeURIComponent(ctx.path.split('/')[1] || '');
  if (!bucket || !allowedBuckets(name).has(bucket)) {
    throw s3error(403, 'AccessDenied', 'Access Denied');
  }
}

async function gate(ctx, next) {
  if (ctx.method === 'OPTIONS') return next(); // CORS preflight is never signed
  const h = ctx.req.headers;
  const q = ctx.query;
  const auth = h.authorization;
  if (ctx.method === 'POST' && ctx.path === '/' && /\/iam\/aws4_request/.test(auth || '')) {
    return iamHandle(ctx);
  }
  if ('Signature' in q || (auth && /^AWS\s/i.test(auth))) {
    throw s3error(400, 'InvalidRequest',
      'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
  }
  if (auth) {
    if (!/^AWS4-HMAC-SHA256\s/.test(auth)) {
      throw s3error(400, 'InvalidArgument', 'Unsupported Authorization Type',
        { ArgumentName: 'Authorization', ArgumentValue: auth });
    }
    const parts = parseAuthHeader(auth);
    checkRequestTime(h['x-amz-date'] || h.date);
    checkScope(parts.Credential, h['x-amz-date']);
    checkSignedHeaders(ctx, parts.SignedHeaders);
    authorize(ctx, parts.Credential.split('/')[0]);
    const sha = h['x-amz-content-sha256'];
    if (sha && /^[0-9a-fA-F]{64}$/.test(sha)) await verifyPayload(ctx, sha);
  } else if ('X-Amz-Algorithm' in q) {
    // Presigned URL.
    checkScope(q['X-Amz-Credential'], q['X-Amz-Date']);
    checkSignedHeaders(ctx, q['X-Amz-SignedHeaders']);
    authorize(ctx, String(q['X-Amz-Credential']).split('/')[0]);
  } else {
    throw s3error(403, 'AccessDenied', 'Access Denied (the harness S3 server refuses unsigned requests)');
  }
  return next();
}

const server = new S3rver({
  address,
  port,
  directory,
  silent: false,
  allowMismatchedSignatures: false,
  // Path-style only: the endpoint is an IP address.
  vhostBuckets: false,
});
// Run the gate before everything else, s3rver's own middleware included (the
// composed middleware chain is built when the server starts listening).
// Read and discard what is left of a refused request's body before answering:
// a client still sending it would otherwise get EPIPE/ECONNRESET instead of
// the error response (bounded, so a huge upload cannot hold us).
function drain(req, limitBytes = 64 * 1024 * 1024, ms = 10000) {
  if (req.complete || req.readableEnded || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const done = () => {
      clearTimeout(timer);
      req.removeListener('data', onData);
      resolve();
    };
    const onData = (chunk) => {
      seen += chunk.length;
      if (seen > limitBytes) done();
    };
    const timer = setTimeout(done, ms);
    req.on('data', onData);
    req.once('end', done);
    req.once('error', done);
    req.once('close', done);
    req.resume();
  });
}

server.middleware.unshift(async (ctx, next) => {
  try {
    await gate(ctx, next);
  } catch (err) {
    if (err instanceof S3Error && err.status < 500) {
      console.log(`s3-server: refused ${ctx.method} ${ctx.url}: ${err.status} ${err.code}: ${err.message}`);
    }
    await drain(ctx.request.req);
    throw err;
  }
});

fs.mkdirSync(directory, { recursive: true });
server.run().then((addr) => {
  if (pidfile) fs.writeFileSync(pidfile, `${process.pid}\n`);
  console.log(`s3-server: listening on ${addr.address}:${addr.port}, region ${region}, data in ${directory}`);
}, (err) => {
  console.error('s3-server: cannot start:', err);
  process.exit(1);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
