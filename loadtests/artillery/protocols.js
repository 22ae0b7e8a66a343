'use strict';
// Artillery processor for the protocol scenarios (issue 17): Matrix client-server and federation, BareRTC's
// WebSocket, Lemmy (API and signed inbox) and SOGS, against the rig's serve mode (loadtests/Soak), which writes its ports and keys to
// $PORTS_FILE. Requests are signed where the protocol signs: federation requests with X-Matrix (ed25519 over the
// canonical JSON of method, uri, origin, destination and content), SOGS requests with the X-SOGS-* headers (ed25519
// over server key, nonce, timestamp, method, path and the body's BLAKE2b-512) and posts whose `data` the poster
// signed. Every answer is classified ("verdict.<outcome>") and checked against the message sent ("verdict.mismatch").
// The rig's upstreams mark their answers with `x-soak-upstream`, so a gateway's plausible success (a drop) is told
// apart from the upstream's real one.
const crypto = require('crypto');
const fs = require('fs');
const { TERMS } = require('./verdicts.js');

const rig = JSON.parse(fs.readFileSync(process.env.PORTS_FILE, 'utf8'));
const WORDS = ['hello', 'there', 'how', 'are', 'you', 'today', 'the', 'weather', 'is', 'nice', 'see', 'later'];
let nextId = 1;

function pickKind() {
  const r = Math.random() * 100;
  return r < 70 ? 'clean' : r < 85 ? 'censor' : r < 95 ? 'drop' : 'reject';
}

function text(kind) {
  const n = 3 + Math.floor(Math.random() * 12);
  const at = Math.floor(Math.random() * n);
  const words = ['id' + (nextId++)];
  for (let i = 0; i < n; i++) words.push(i === at && TERMS[kind] ? TERMS[kind] : WORDS[Math.floor(Math.random() * WORDS.length)]);
  return words.join(' ');
}

function ed25519FromSeed(seed) {
  const key = crypto.createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  const pub = crypto.createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32);
  return { key, pub };
}

// Emits the outcome and whether it fits what was sent; `expected` maps a kind to its outcome.
function emit(events, context, outcome, expected) {
  events.emit('counter', 'verdict.' + outcome, 1);
  events.emit('counter', 'verdict.mismatch', outcome !== expected[context.vars.kind] ? 1 : 0);
  events.emit('counter', 'verdict.other', outcome === 'other' ? 1 : 0);
  if (context.vars.kind === 'censor' && outcome === 'delivered') events.emit('counter', 'verdict.censored', 1);
}

const FILTERED = { clean: 'delivered', censor: 'delivered', drop: 'dropped', reject: 'rejected' };
const fromUpstream = (res) => res.headers['x-soak-upstream'] === '1';

// ── Matrix client-server ─────────────────────────────────────────────────────────────────────────────────────────
function matrixMessage(context, events, done) {
  const kind = pickKind();
  context.vars.kind = kind;
  context.vars.room = encodeURIComponent('!room' + Math.floor(Math.random() * 5) + ':soak.test');
  context.vars.txn = 'a' + crypto.randomBytes(8).toString('hex');
  context.vars.token = 'syt_user' + Math.floor(Math.random() * 50) + '_soak';
  context.vars.content = { msgtype: 'm.text', body: text(kind) };
  return done();
}

function matrixClassify(req, res, context, events, done) {
  let outcome = 'other';
  if (res.statusCode === 200 && fromUpstream(res) && /"\$srv/.test(res.body)) outcome = 'delivered';
  else if (res.statusCode === 200 && !fromUpstream(res) && /"event_id":"\$/.test(res.body)) outcome = 'dropped';
  else if (res.statusCode === 403 && /M_FORBIDDEN/.test(res.body)) outcome = 'rejected';
  else if (res.statusCode >= 502 && res.statusCode <= 504) outcome = 'refused';
  emit(events, context, outcome, FILTERED);
  return done();
}

// ── Matrix federation (signed) ───────────────────────────────────────────────────────────────────────────────────
const servers = {
  'good.example': ed25519FromSeed(Buffer.from(rig.matrix_good_seed, 'hex')),
  'banned.example': ed25519FromSeed(Buffer.from(rig.matrix_banned_seed, 'hex')),
};

// Canonical JSON (Matrix appendix): keys sorted by code point, no insignificant whitespace, UTF-8.
function canonical(v) {
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (v && typeof v === 'object') {
    return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canonical(v[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

function federationSign(requestParams, context, events, done) {
  const banned = Math.random() < 0.15;
  const origin = banned ? 'banned.example' : 'good.example';
  context.vars.kind = banned ? 'banned' : 'clean';
  const id = nextId;
  const txn = { origin, origin_server_ts: Date.now(), pdus: [{ type: 'm.room.message', room_id: '!room1:soak.test',
    sender: '@remote' + Math.floor(Math.random() * 20) + ':' + origin, origin_server_ts: Date.now(), content: { msgtype: 'm.text', body: text('clean') } }] };
  const uri = '/_matrix/federation/v1/send/t' + id + crypto.randomBytes(4).toString('hex');
  const payload = canonical({ method: 'PUT', uri, origin, destination: rig.matrix_destination, content: txn });
  const sig = crypto.sign(null, Buffer.from(payload, 'utf8'), servers[origin].key).toString('base64').replace(/=+$/, '');
  requestParams.url = uri;
  requestParams.body = JSON.stringify(txn);
  requestParams.headers = { ...(requestParams.headers || {}), 'content-type': 'application/json',
    authorization: `X-Matrix origin="${origin}",destination="${rig.matrix_destination}",key="ed25519:soak1",sig="${sig}"` };
  return done();
}

function federationClassify(req, res, context, events, done) {
  let outcome = 'other';
  if (res.statusCode === 200 && fromUpstream(res) && /"pdus"/.test(res.body)) outcome = 'delivered';
  else if (res.statusCode === 403 && !fromUpstream(res) && /M_FORBIDDEN/.test(res.body)) outcome = 'rejected';
  else if (res.statusCode >= 502 && res.statusCode <= 504) outcome = 'refused';
  emit(events, context, outcome, { clean: 'delivered', banned: 'rejected' });
  return done();
}

// ── Lemmy ────────────────────────────────────────────────────────────────────────────────────────────────────────
function lemmyComment(context, events, done) {
  const kind = pickKind();
  context.vars.kind = kind;
  context.vars.token = 'jwt.user' + Math.floor(Math.random() * 50) + '.soak';
  context.vars.comment = { content: text(kind), post_id: 1 + Math.floor(Math.random() * 10) };
  return done();
}

function lemmyClassify(req, res, context, events, done) {
  let outcome = 'other';
  if (res.statusCode === 200 && fromUpstream(res) && /"comment_view"/.test(res.body)) outcome = 'delivered';
  else if (res.statusCode === 200 && !fromUpstream(res) && /"comment_view"/.test(res.body)) outcome = 'dropped';
  else if (res.statusCode === 400 && !fromUpstream(res) && /breaks the rules/.test(res.body)) outcome = 'rejected';
  else if (res.statusCode >= 502 && res.statusCode <= 504) outcome = 'refused';
  emit(events, context, outcome, FILTERED);
  return done();
}

// ── Lemmy inbox (signed) ─────────────────────────────────────────────────────────────────────────────────────────
// ActivityPub Create{Note} from remote.example to the shared inbox, HTTP-signed as Lemmy signs (rsa-sha256 over
// "(request-target) host date digest", Digest: SHA-256=…). The fake instance verifies the signature with the actor's
// key and answers 200 with an empty body. The gateway never rewrites a signed body: a censor verdict is refused
// (400) like a reject; a drop answers 200 as if accepted.
const inboxKey = crypto.createPrivateKey(rig.lemmy_inbox_key_pem);

function lemmyInboxSign(requestParams, context, events, done) {
  const kind = pickKind();
  context.vars.kind = kind;
  const id = nextId;
  const body = text(kind);
  const community = 'https://lemmy.soak/c/community' + (1 + Math.floor(Math.random() * 3));
  const pub = 'https://www.w3.org/ns/activitystreams#Public';
  const activity = {
    '@context': ['https://join-lemmy.org/context.json', 'https://www.w3.org/ns/activitystreams'],
    id: 'https://remote.example/activities/create/a' + id + crypto.randomBytes(4).toString('hex'),
    type: 'Create', actor: 'https://remote.example/u/carol', to: [pub], cc: [community], audience: community,
    object: { id: 'https://remote.example/comment/a' + id, type: 'Note', attributedTo: 'https://remote.example/u/carol',
      to: [pub], cc: [community], content: '<p>' + body + '</p>', mediaType: 'text/html',
      source: { content: body, mediaType: 'text/markdown' }, inReplyTo: 'https://lemmy.soak/post/1', audience: community },
  };
  const raw = Buffer.from(JSON.stringify(activity), 'utf8');
  const digest = 'SHA-256=' + crypto.createHash('sha256').update(raw).digest('base64');
  const date = new Date().toUTCString();
  const host = rig.lemmy_inbox_host;
  const signing = `(request-target): post /inbox\nhost: ${host}\ndate: ${date}\ndigest: ${digest}`;
  const signature = crypto.sign('sha256', Buffer.from(signing, 'utf8'), inboxKey).toString('base64');
  requestParams.body = raw;
  requestParams.headers = { ...(requestParams.headers || {}), host, date, digest, 'content-type': 'application/activity+json',
    signature: `keyId="${rig.lemmy_inbox_key_id}",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="${signature}"` };
  return done();
}

function lemmyInboxClassify(req, res, context, events, done) {
  let outcome = 'other';
  if (res.statusCode === 200 && fromUpstream(res)) outcome = 'delivered';
  else if (res.statusCode === 200 && !fromUpstream(res) && !res.body) outcome = 'dropped';
  else if (res.statusCode === 400 && !fromUpstream(res)) outcome = 'rejected';
  else if (res.statusCode >= 502 && res.statusCode <= 504) outcome = 'refused';
  emit(events, context, outcome, { clean: 'delivered', censor: 'rejected', drop: 'dropped', reject: 'rejected' });
  return done();
}

// ── SOGS (signed) ────────────────────────────────────────────────────────────────────────────────────────────────
const sogsServer = Buffer.from(rig.sogs_server_pubkey, 'hex');
const sogsUsers = Array.from({ length: 20 }, () => ed25519FromSeed(crypto.randomBytes(32)));

function varint(n) {
  const out = [];
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7; }
  out.push(n);
  return Buffer.from(out);
}

// Content { dataMessage(1) { body(1) } }, padded as Session pads: 0x80 then zeros to a multiple of 160 bytes.
function sessionContent(body) {
  const b = Buffer.from(body, 'utf8');
  const dm = Buffer.concat([Buffer.from([0x0a]), varint(b.length), b]);
  const raw = Buffer.concat([Buffer.from([0x0a]), varint(dm.length), dm]);
  const padded = Buffer.alloc((Math.floor(raw.length / 160) + 1) * 160);
  raw.copy(padded);
  padded[raw.length] = 0x80;
  return padded;
}

function sogsSign(requestParams, context, events, done) {
  const kind = pickKind();
  context.vars.kind = kind;
  const user = sogsUsers[Math.floor(Math.random() * sogsUsers.length)];
  const data = sessionContent(text(kind));
  const body = Buffer.from(JSON.stringify({ data: data.toString('base64'), signature: crypto.sign(null, data, user.key).toString('base64') }), 'utf8');
  const path = '/room/lobby' + Math.floor(Math.random() * 3) + '/message';
  const nonce = crypto.randomBytes(16);
  const ts = String(Math.floor(Date.now() / 1000));
  const message = Buffer.concat([sogsServer, nonce, Buffer.from(ts + 'POST' + path, 'utf8'), crypto.createHash('blake2b512').update(body).digest()]);
  requestParams.url = path;
  requestParams.body = body.toString("utf8");
  requestParams.headers = { ...(requestParams.headers || {}), 'content-type': 'application/json',
    'X-SOGS-Pubkey': '00' + user.pub.toString('hex'), 'X-SOGS-Nonce': nonce.toString('base64'), 'X-SOGS-Timestamp': ts,
    'X-SOGS-Signature': crypto.sign(null, message, user.key).toString('base64') };
  return done();
}

function sogsClassify(req, res, context, events, done) {
  let outcome = 'other';
  if (res.statusCode === 201 && fromUpstream(res) && /"seqno"/.test(res.body)) outcome = 'delivered';
  else if (res.statusCode === 201 && !fromUpstream(res) && /"filtered":true/.test(res.body)) outcome = 'dropped';
  else if (res.statusCode === 429 && !fromUpstream(res)) outcome = 'rejected';
  else if (res.statusCode >= 502 && res.statusCode <= 504) outcome = 'refused';
  // Signed posts are never rewritten: a censor verdict is refused (censor_fallback = "reject").
  emit(events, context, outcome, { clean: 'delivered', censor: 'rejected', drop: 'dropped', reject: 'rejected' });
  return done();
}

// ── BareRTC WebSocket ────────────────────────────────────────────────────────────────────────────────────────────
// One session: login, then `count` message frames, each answered before the next: the server's echo (msgID counted
// from 1: delivered), the gateway's echo of a dropped message (msgID seeded from the Unix time in ms: dropped), or a
// ChatServer error with the notice (rejected). context.ws is the socket Artillery's ws engine opened.
function nextFrame(ws, timeoutMs) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => { ws.onmessage = undefined; resolve(null); }, timeoutMs);
    ws.onmessage = (event) => {
      let msg;
      try { msg = JSON.parse(event.data); } catch { msg = { action: 'unparsable' }; }
      if (['me', 'who', 'presence', 'ping'].includes(msg.action)) return;
      clearTimeout(timer);
      ws.onmessage = undefined;
      resolve(msg);
    };
  });
}

async function barertcSession(context, events) {
  const ws = context.ws;
  ws.send(JSON.stringify({ action: 'login', username: 'art' + crypto.randomBytes(4).toString('hex') }));
  for (let i = 0; i < 10; i++) {
    const kind = pickKind();
    context.vars.kind = kind;
    const started = Date.now();
    const answer = nextFrame(ws, 10000);
    ws.send(JSON.stringify({ action: 'message', channel: 'lobby', message: text(kind) }));
    const msg = await answer;
    events.emit('histogram', 'barertc.answer_time', Date.now() - started);
    let outcome = 'other';
    if (msg && msg.action === 'message' && typeof msg.msgID === 'number') outcome = msg.msgID < 1e11 ? 'delivered' : 'dropped';
    else if (msg && msg.action === 'error' && msg.username === 'ChatServer' && /breaks the rules/.test(msg.message)) outcome = 'rejected';
    emit(events, context, outcome, FILTERED);
    if (!msg) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ── BareRTC polling API (POST /poll, pkg/polling_api.go) ─────────────────────────────────────────────────────────
// A login poll opens a session (session_id); each message poll answers with the frames queued for the session, the
// message's echo among them (BareRTC broadcasts to the sender too). For a dropped message the gateway polls the
// server with a ping instead and puts its own echo (msgID from the clock) in the answer; for a rejected one, a
// ChatServer error with the notice. BareRTC compares Content-Type with "application/json" exactly.
function pollRequest(requestParams, payload) {
  requestParams.body = JSON.stringify(payload);
  requestParams.headers = { ...(requestParams.headers || {}), 'content-type': 'application/json' };
}

function barertcPollLogin(requestParams, context, events, done) {
  context.vars.user = 'poll' + crypto.randomBytes(4).toString('hex');
  pollRequest(requestParams, { msg: { action: 'login', username: context.vars.user } });
  return done();
}

function barertcPollLoggedIn(req, res, context, events, done) {
  let sid = null;
  try { sid = JSON.parse(res.body).session_id; } catch { /* not JSON: counted below */ }
  context.vars.sid = sid;
  events.emit('counter', 'barertc.login_failed', res.statusCode === 200 && typeof sid === 'string' ? 0 : 1);
  return done();
}

function barertcPollMessage(requestParams, context, events, done) {
  const kind = pickKind();
  context.vars.kind = kind;
  pollRequest(requestParams, { username: context.vars.user, session_id: context.vars.sid,
    msg: { action: 'message', channel: 'lobby', message: text(kind) } });
  return done();
}

function barertcPollClassify(req, res, context, events, done) {
  let outcome = 'other';
  if (res.statusCode >= 502 && res.statusCode <= 504) outcome = 'refused';
  else if (res.statusCode === 200) {
    let frames = [];
    try { frames = JSON.parse(res.body).messages || []; } catch { /* not JSON: other */ }
    for (const f of frames) {
      if (f.action === 'message' && typeof f.msgID === 'number') { outcome = f.msgID < 1e11 ? 'delivered' : 'dropped'; break; }
      if (f.action === 'error' && f.username === 'ChatServer' && /breaks the rules/.test(f.message)) { outcome = 'rejected'; break; }
    }
  }
  emit(events, context, outcome, FILTERED);
  return done();
}

module.exports = {
  barertcPollLogin, barertcPollLoggedIn, barertcPollMessage, barertcPollClassify,
  matrixMessage, matrixClassify, federationSign, federationClassify, lemmyComment, lemmyClassify, lemmyInboxSign,
  lemmyInboxClassify, sogsSign, sogsClassify,
  barertcSession,
};
