'use strict';
// `artillery report` is a no-op in Artillery 2.0.34 (it points to Artillery Cloud), so the HTML report is written
// here from the JSON that `artillery run --output` leaves: counters, latency summaries and the per-period rows.
// Usage: node report.js report/<scenario>.json report/<scenario>.html
const fs = require('fs');
const [input, output] = process.argv.slice(2);
const data = JSON.parse(fs.readFileSync(input, 'utf8'));
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
const table = (rows, head) => `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows
  .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</table>`;
const a = data.aggregate;
const summaries = Object.entries(a.summaries || {}).map(([k, s]) => [k, s.min, s.p50, s.p95, s.p99, s.max, s.count]);
const periods = (data.intermediate || []).map((p) => [new Date(Number(p.period)).toISOString(), p.counters['vusers.created'] || 0,
  p.counters['http.responses'] || 0, (p.summaries['http.response_time'] || {}).p99 ?? '', p.counters['verdict.mismatch'] || 0]);
fs.writeFileSync(output, `<!doctype html><meta charset="utf-8"><title>${esc(input)}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style>
<h1>${esc(input)}</h1><h2>Counters</h2>${table(Object.entries(a.counters).sort(), ['counter', 'value'])}
<h2>Summaries (ms)</h2>${table(summaries, ['metric', 'min', 'p50', 'p95', 'p99', 'max', 'count'])}
<h2>Per period</h2>${table(periods, ['period', 'vusers', 'responses', 'p99 ms', 'mismatches'])}`);
