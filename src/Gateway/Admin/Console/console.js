// The admin console. The token lives in this closure only: never in localStorage, cookies or the URL.
// Every value from the server is put on the page with textContent, never as HTML.
(() => {
  'use strict';
  let token = null;
  let timer = null;
  const $ = (id) => document.getElementById(id);

  async function api(method, path, body) {
    const init = { method, headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const json = await response.json().catch(() => ({}));
    if (!response.ok && response.status !== 422) {
      const error = new Error(json.message || ('HTTP ' + response.status));
      error.status = response.status;
      throw error;
    }
    return json;
  }

  function setConnection(text, ok) {
    const el = $('connection');
    el.textContent = text;
    el.className = ok ? 'ok' : 'bad';
  }

  function counterRows(status) {
    const c = status.counters;
    return [
      ['gateway version', status.version],
      ['uptime', Math.round(status.uptime_seconds) + ' s'],
      ['config version', status.config.version + ' (loaded ' + status.config.loaded_at + ')'],
      ['reloads / refused', status.config.reloads + ' / ' + status.config.reload_failures],
      ['filters', status.config.filters],
      ['messages inspected', c.messages_inspected],
      ['forward / censor / drop / reject', [c.verdicts.forward, c.verdicts.censor, c.verdicts.drop, c.verdicts.reject].join(' / ')],
      ['IP denials', c.ip_denials],
      ['ACL denials', c.acl_denials],
      ['opaque (encrypted / signed / onion)', [c.opaque.encrypted, c.opaque.signed, c.opaque.onion].join(' / ')],
      ['reports queued', status.reports.queued],
      ['reports sent / retried / dropped', [status.reports.sent, status.reports.retried, status.reports.dropped].join(' / ')],
      ['context conversations', status.context.conversations],
      ['context bytes', status.context.bytes],
      ['admin IP blocks / ACL entries', status.overlay.ip_blocks + ' / ' + status.overlay.acl_deny],
    ];
  }

  function renderCounters(status) {
    const dl = $('counters');
    dl.replaceChildren();
    for (const [name, value] of counterRows(status)) {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.textContent = String(value);
      dl.append(dt, dd);
    }
    $('refreshed').textContent = 'updated ' + new Date().toLocaleTimeString();
  }

  function cell(row, value, className) {
    const td = document.createElement('td');
    td.textContent = value === null || value === undefined ? '—' : String(value);
    if (className) td.className = className;
    row.append(td);
  }

  function renderRecent(data) {
    const body = $('recent').tBodies[0];
    body.replaceChildren();
    for (const v of data.verdicts) {
      const tr = document.createElement('tr');
      cell(tr, v.time);
      cell(tr, v.action, 'action-' + v.action);
      cell(tr, v.filter);
      cell(tr, v.protocol);
      cell(tr, v.route);
      cell(tr, v.room);
      cell(tr, v.direct ? 'yes' : 'no');
      body.append(tr);
    }
  }

  function renderRules(data) {
    const body = $('rules').tBodies[0];
    body.replaceChildren();
    for (const r of data.rules) {
      const tr = document.createElement('tr');
      cell(tr, r.rule);
      cell(tr, r.type);
      cell(tr, r.kind);
      cell(tr, !r.enabled ? 'off' : r.dry_run ? 'dry run' : 'live', r.dry_run ? 'dry-run' : '');
      cell(tr, r.hits_last_minute);
      cell(tr, r.hits_since_load);
      cell(tr, r.hits_last_hour);
      body.append(tr);
    }
  }

  function renderBlocks(data) {
    const body = $('blocks').tBodies[0];
    body.replaceChildren();
    for (const b of data.sender_blocks) {
      const tr = document.createElement('tr');
      cell(tr, b.sender);
      cell(tr, b.until);
      cell(tr, b.source);
      cell(tr, b.reason);
      const td = document.createElement('td');
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Unblock';
      button.addEventListener('click', async () => {
        await api('DELETE', '/sender-blocks?sender=' + encodeURIComponent(b.sender));
        refresh();
      });
      td.append(button);
      tr.append(td);
      body.append(tr);
    }
  }

  // GET /cluster: hidden on a single instance. Members are the live ones (Redis drops a member three beats after its
  // last heartbeat); a member this instance cannot push DM appends to shows as unreachable.
  function renderCluster(c) {
    $('cluster-section').hidden = !c.enabled;
    if (!c.enabled) return;
    const owners = c.dm_owners || { enabled: false };
    const rows = [
      ['this instance', c.instance],
      ['redis', c.redis + ' (' + c.shared_state + ')'],
      ['on shared state error', c.on_shared_state_error + ', budget ' + c.budget_ms + ' ms'],
      ['counter batches shared / fallback', c.batches_shared + ' / ' + c.batches_fallback],
      ['DM pair owners', owners.enabled ? 'pushed ' + owners.pushed + ', kept here (owner unreachable) ' + owners.fallbacks : 'off (no internal_listen)'],
    ];
    const dl = $('cluster');
    dl.replaceChildren();
    for (const [name, value] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.textContent = String(value);
      if (name === 'redis') dd.className = 'state-' + c.shared_state;
      dl.append(dt, dd);
    }
    const self = c.members.find((m) => m.self);
    const unreachable = new Set(owners.unreachable || []);
    const body = $('cluster-members').tBodies[0];
    body.replaceChildren();
    for (const m of c.members) {
      const tr = document.createElement('tr');
      if (m.self) tr.className = 'member-self';
      cell(tr, m.self ? m.instance + ' (this one)' : m.instance);
      const state = unreachable.has(m.instance) ? 'unreachable' : 'live';
      cell(tr, state, 'state-' + state);
      cell(tr, m.config_version);
      cell(tr, m.config_digest, self && m.config_digest !== self.config_digest ? 'config-differs' : '');
      cell(tr, m.internal ? 'yes' : 'no');
      cell(tr, m.started);
      cell(tr, m.seen);
      body.append(tr);
    }
  }

  async function refresh() {
    try {
      const [status, recent, rules, blocks, cluster] = await Promise.all([api('GET', '/status'), api('GET', '/verdicts'), api('GET', '/rules'),
        api('GET', '/sender-blocks'), api('GET', '/cluster')]);
      renderCounters(status);
      renderRecent(recent);
      renderRules(rules);
      renderBlocks(blocks);
      renderCluster(cluster);
      setConnection('connected', true);
    } catch (e) {
      setConnection(e.status === 401 ? 'wrong token' : 'error: ' + e.message, false);
      if (e.status === 401) stop();
    }
  }

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
  }

  $('login').addEventListener('submit', (event) => {
    event.preventDefault();
    token = $('token').value.trim();
    $('token').value = '';
    stop();
    refresh();
    timer = setInterval(refresh, 2000);
  });

  $('block-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const sender = $('block-sender').value.trim();
    if (!sender) return;
    const minutes = Math.max(1, parseInt($('block-minutes').value, 10) || 60);
    await api('POST', '/sender-blocks', { sender, ttl_seconds: minutes * 60, reason: $('block-reason').value.trim() || null });
    $('block-sender').value = '';
    refresh();
  });

  $('check-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    $('check-error').hidden = true;
    try {
      const v = await api('POST', '/check', {
        text: $('check-text').value,
        field: $('check-field').value,
        room: $('check-room').value || null,
        sender: $('check-sender').value || null,
        direct: $('check-direct').checked,
        moderator: $('check-moderator').checked,
      });
      $('verdict-action').textContent = v.action;
      $('verdict-action').className = 'action-' + v.action;
      $('verdict-filter').textContent = v.deciding_filter ? 'by ' + v.deciding_filter : '';
      $('verdict-text').textContent = v.text === null ? '(not delivered)' : v.text;
      $('verdict-normalized').textContent = v.normalized;
      const body = $('verdict-matches').tBodies[0];
      body.replaceChildren();
      for (const m of v.matches) {
        const tr = document.createElement('tr');
        cell(tr, m.filter);
        cell(tr, m.term);
        cell(tr, (m.steps || []).join(', '));
        cell(tr, m.field);
        cell(tr, m.start);
        cell(tr, m.end);
        cell(tr, m.dry_run ? 'yes' : 'no');
        body.append(tr);
      }
      $('verdict').hidden = false;
      refresh();
    } catch (e) {
      $('check-error').textContent = e.status === 401 ? 'Connect with the admin token first.' : e.message;
      $('check-error').hidden = false;
    }
  });
})();
