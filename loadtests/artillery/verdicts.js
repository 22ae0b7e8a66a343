'use strict';
// Artillery processor for the gateway scenarios (issue 17). Each request carries a message of a known kind; the
// response tells which verdict the gateway applied. Counters "verdict.<outcome>" feed the report and the `ensure`
// conditions; "verdict.mismatch" counts answers that do not fit the message sent (a censor term delivered unchanged,
// a drop term that reached the backend, ...).
const WORDS = ['hello', 'there', 'how', 'are', 'you', 'today', 'the', 'weather', 'is', 'nice', 'see', 'later'];
const TERMS = { censor: 'darn', drop: 'buycoins', reject: 'slurword' };
// 70 % clean, 15 % censored, 10 % dropped, 5 % rejected: the mix the ensure block expects.
function pickKind() {
  const r = Math.random() * 100;
  return r < 70 ? 'clean' : r < 85 ? 'censor' : r < 95 ? 'drop' : 'reject';
}

function text(kind) {
  const n = 3 + Math.floor(Math.random() * 12);
  const at = Math.floor(Math.random() * n);
  const words = [];
  for (let i = 0; i < n; i++) {
    words.push(i === at && TERMS[kind] ? TERMS[kind] : WORDS[Math.floor(Math.random() * WORDS.length)]);
  }
  return words.join(' ');
}

let nextId = 1;

function newMessage(context, events, done) {
  const kind = pickKind();
  context.vars.kind = kind;
  context.vars.message = { id: nextId++, text: text(kind), sender: 'user' + Math.floor(Math.random() * 50), room: 'room' + Math.floor(Math.random() * 5) };
  return done();
}

function classifyHttp(req, res, context, events, done) {
  const kind = context.vars.kind;
  let outcome = 'other';
  if (res.statusCode === 201 && /accepted/.test(res.body)) outcome = 'dropped';
  else if (res.statusCode === 403 && /"rejected"/.test(res.body)) outcome = 'rejected';
  else if (res.statusCode === 200) outcome = 'delivered';
  else if (res.statusCode >= 500) outcome = 'refused';
  events.emit('counter', 'verdict.' + outcome, 1);
  const expected = { clean: 'delivered', censor: 'delivered', drop: 'dropped', reject: 'rejected' }[kind];
  // Emitted (as 0) on every answer: an ensure condition on a counter that never appeared fails.
  events.emit('counter', 'verdict.mismatch', outcome !== expected ? 1 : 0);
  if (outcome !== 'other') events.emit('counter', 'verdict.other', 0);
  if (kind === 'censor' && outcome === 'delivered') events.emit('counter', 'verdict.censored', 1);
  return done();
}

// WebSocket: the backend echoes what it got, so a censored frame comes back with stars and never with the term.
function wsFrame(context, events, done) {
  newMessage(context, events, () => {
    context.vars.frame = JSON.stringify({ type: 'message', from: context.vars.message.sender, text: context.vars.message.text });
    return done();
  });
}

module.exports = { newMessage, classifyHttp, wsFrame, TERMS };
