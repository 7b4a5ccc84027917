// ragd's web console: hash-routed pages over the public HTTP API, in plain DOM code (no framework,
// no build step). Every request carries the bearer token kept in this tab's session storage;
// problem+json answers become messages on the page.

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

// ---- session ---------------------------------------------------------------------------------

const session = {
  get token() { return sessionStorage.getItem('ragd.token'); },
  get tenant() { return sessionStorage.getItem('ragd.tenant') || 'default'; },
  set(token, tenant) {
    sessionStorage.setItem('ragd.token', token);
    sessionStorage.setItem('ragd.tenant', tenant);
  },
  clear() {
    sessionStorage.removeItem('ragd.token');
  },
};

// ---- DOM helpers -----------------------------------------------------------------------------

/** Builds an element: h('a', {href: '#/x', class: 'y'}, 'text', child…). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const main = () => document.getElementById('main');

function show(...nodes) {
  main().replaceChildren(...nodes.flat().filter((n) => n != null && n !== false));
}

function statusBadge(s) {
  return h('span', { class: `status s-${s || 'UNKNOWN'}` }, s || '—');
}

const num = (n) => (n == null ? '—' : Number(n).toLocaleString('en-US'));
const money = (n) => (n == null ? '—' : `$${Number(n).toFixed(n && n < 0.01 ? 6 : 4)}`);
const when = (ms) => (ms ? new Date(ms).toLocaleString() : '—');
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** A table with these column headers over `body` (a tbody, or rows for a new one). */
function table(headers, body) {
  return h('table', null,
    h('thead', null, h('tr', null, headers.map(([label, cls]) => h('th', { scope: 'col', class: cls }, label)))),
    body instanceof HTMLTableSectionElement ? body : h('tbody', null, body));
}

// ---- messages --------------------------------------------------------------------------------

/** An error answer of the API (problem+json), or a failure to reach it. */
class Problem extends Error {
  constructor(status, body) {
    super(body.detail || body.title || `HTTP ${status}`);
    this.status = status;
    this.title = body.title || `HTTP ${status}`;
    this.detail = body.detail || '';
    this.errors = Array.isArray(body.errors) ? body.errors : [];
    this.retryAfter = body.retryAfterSeconds;
  }
}

async function problemOf(res) {
  const text = await res.text();
  try {
    return new Problem(res.status, JSON.parse(text));
  } catch {
    return new Problem(res.status, { title: `The server answered ${res.status} ${res.statusText}`, detail: text.slice(0, 300) });
  }
}

function say(content, kind = 'error') {
  const box = document.getElementById('message');
  box.className = `message ${kind === 'error' ? '' : kind}`;
  box.replaceChildren(...[content].flat());
  box.hidden = false;
  if (kind === 'error') box.focus();
}

function sayProblem(e) {
  if (!(e instanceof Problem)) {
    say([h('div', { class: 'title' }, 'Something went wrong'), h('div', null, String(e && e.message ? e.message : e))]);
    return;
  }
  say([
    h('div', { class: 'title' }, e.title),
    e.detail && e.detail !== e.title ? h('div', null, e.detail) : null,
    e.errors.length ? h('ul', null, e.errors.map((f) => h('li', null, h('code', null, f.field), ': ', f.message))) : null,
    e.retryAfter ? h('div', { class: 'muted' }, `Try again in ${e.retryAfter} s.`) : null,
  ]);
}

function clearMessage() {
  document.getElementById('message').hidden = true;
}

// ---- the API ---------------------------------------------------------------------------------

const tenantBase = () => `/v1/tenants/${encodeURIComponent(session.tenant)}`;

async function request(method, path, body, signal) {
  const headers = { authorization: `Bearer ${session.token}` };
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(tenantBase() + path, { method, headers, body: payload, signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new Problem(0, { title: 'ragd could not be reached', detail: `${e.message}. Is the server still running?` });
  }
  if (res.status === 401) {
    session.clear();
    const p = await problemOf(res);
    p.title = 'Signed out: the server no longer accepts this token';
    throw p;
  }
  if (!res.ok) throw await problemOf(res);
  return res.status === 204 ? null : res.json();
}

const api = {
  get: (path, signal) => request('GET', path, undefined, signal),
  post: (path, body) => request('POST', path, body ?? {}),
  del: (path) => request('DELETE', path),
  /** Every item of a paged list. */
  async all(path, signal) {
    const items = [];
    let token = '';
    for (;;) {
      const sep = path.includes('?') ? '&' : '?';
      const page = await api.get(`${path}${sep}PageSize=100${token ? `&PageToken=${encodeURIComponent(token)}` : ''}`, signal);
      items.push(...(page.items || []));
      if (!page.nextPageToken) return items;
      token = page.nextPageToken;
    }
  },
};

/** Follows an operation's `:watch` server-sent events (read with fetch, which can send the
 *  token), calling `seen` with each snapshot until the terminal one or `signal` aborts. */
async function watch(asset, op, seen, signal) {
  const res = await fetch(`${tenantBase()}/assets/${asset}/operations/${op}:watch`, {
    headers: { authorization: `Bearer ${session.token}`, accept: 'text/event-stream' },
    signal,
  });
  if (!res.ok) throw await problemOf(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let data = '';
  let last = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end).replace(/\r$/, '');
      buffer = buffer.slice(end + 1);
      if (line.startsWith('data:')) data += line.slice(5).replace(/^ /, '');
      else if (line === '' && data) {
        try {
          last = JSON.parse(data);
          seen(last);
        } catch { /* a comment or keep-alive */ }
        data = '';
      }
    }
  }
  if (!last || !last.done) {
    last = await api.get(`/assets/${asset}/operations/${op}`, signal);
    seen(last);
  }
  return last;
}

// ---- pages -----------------------------------------------------------------------------------

/** Aborted whenever the page changes: stops its event streams and timers. */
let page = new AbortController();

function signInPage(note) {
  document.getElementById('nav').hidden = true;
  document.getElementById('sign-out').hidden = true;
  document.getElementById('who').textContent = '';
  const local = document.querySelector('meta[name="ragd-local-token"]')?.content === 'on';
  const tenant = h('input', { type: 'text', id: 'tenant', name: 'tenant', value: session.tenant, required: true, autocomplete: 'username' });
  const token = h('textarea', { id: 'token', name: 'token', rows: 4, placeholder: 'eyJhbGciOi…', autocomplete: 'off', spellcheck: 'false' });
  const done = () => {
    clearMessage();
    location.hash = '#/assets';
    render();
  };
  const form = h('form', {
    class: 'stack',
    onsubmit: async (ev) => {
      ev.preventDefault();
      session.set(token.value.trim(), tenant.value.trim());
      try {
        await api.get('/assets?PageSize=1');
        done();
      } catch (e) {
        session.clear();
        sayProblem(e);
      }
    },
  },
  h('div', null, h('label', { for: 'tenant' }, 'Tenant'), tenant),
  h('div', null,
    h('label', { for: 'token' }, 'Bearer token ', h('span', { class: 'hint' }, '(kept in this tab only; ', h('code', null, 'ragd token --tenant default'), ' prints one)')),
    token),
  h('div', null, h('button', { type: 'submit', class: 'primary' }, 'Sign in')));
  const localButton = local
    ? h('div', null,
      h('p', { class: 'or' }, 'or, on this machine:'),
      h('button', {
        type: 'button',
        id: 'local-sign-in',
        onclick: async () => {
          const t = tenant.value.trim();
          const res = await fetch('/console/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: t }) });
          if (!res.ok) return sayProblem(await problemOf(res));
          const body = await res.json();
          session.set(body.token, body.tenant);
          done();
        },
      }, 'Sign in with a local token'),
      h('p', { class: 'hint' }, 'Offered because this server listens on loopback and you opened it there; it signs a token with the server\'s own secret.'))
    : null;
  show(h('section', { class: 'signin' }, h('h1', null, 'Sign in to ragd'), note ? h('p', null, note) : null, form, localButton));
  (local ? document.getElementById('local-sign-in') : token).focus();
}

// -- assets

async function assetsPage() {
  const list = h('div');
  show(
    h('h1', null, 'Assets'),
    h('div', { class: 'actions' }, h('a', { class: 'button', href: '#/new' }, 'New asset'), h('a', { class: 'button', href: '#/search' }, 'Search')),
    list);
  await drawAssets(list);
}

/** The assets table; while something is being ingested it is redrawn every 2 s (the rest of the
 *  page, and the keyboard focus, stay). */
async function drawAssets(list) {
  const assets = await api.all('/assets', page.signal);
  const rows = assets.map((a) => h('tr', null,
    h('td', null, h('a', { href: `#/assets/${a.id}` }, a.displayName)),
    h('td', null, a.type),
    h('td', null, statusBadge(a.status)),
    h('td', { class: 'num' }, num(a.documentCount)),
    h('td', { class: 'num' }, num(a.chunkCount)),
    h('td', { class: 'num' }, num(a.budget?.totalTokenCount)),
    h('td', { class: 'num' }, money(a.budget?.totalCost)),
    h('td', null, when(a.modifiedAt))));
  list.replaceChildren(assets.length
    ? table([['Name'], ['Type'], ['Status'], ['Documents', 'num'], ['Chunks', 'num'], ['Tokens', 'num'], ['Cost', 'num'], ['Modified']], rows)
    : h('p', { class: 'muted' }, 'No assets yet. ', h('a', { href: '#/new' }, 'Create one'), ' from files, a web site, a git repository or another source.'));
  if (assets.some((a) => a.status === 'PENDING' || a.status === 'PROCESSING')) later(() => drawAssets(list), 2000);
}

/** Runs `fn` again after `ms` unless the page changed meanwhile. */
function later(fn, ms) {
  const signal = page.signal;
  setTimeout(() => { if (!signal.aborted) fn().catch(failed); }, ms);
}

// -- create

async function newPage() {
  const { items: types } = await api.get('/assets:sourceTypes', page.signal);
  const models = (await api.get('/assets:embeddingModels', page.signal)).items || [];
  const name = h('input', { type: 'text', id: 'name', name: 'name', required: true, autocomplete: 'off' });
  const type = h('select', { id: 'source-type', name: 'sourceType' }, types.map((t) => h('option', { value: t.sourceType }, `${t.displayName} (${t.sourceType})`)));
  const model = h('select', { id: 'model', name: 'model' }, models.map((m) => h('option', { value: `${m.provider}/${m.model}`, selected: m.local }, `${m.provider}/${m.model} — ${m.dimensions} dims${m.local ? ', local, free' : `, $${m.pricePerMillionTokens}/M tokens`}`)));
  const fields = h('div', { class: 'stack' });
  const files = [];
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create and ingest');
  const describe = () => {
    const t = types.find((x) => x.sourceType === type.value);
    fields.replaceChildren(h('p', { class: 'hint' }, t.description), ...(t.sourceType === 'FILE' ? dropZone(files) : t.properties.map(propertyInput)));
  };
  type.addEventListener('change', describe);
  const form = h('form', {
    class: 'stack',
    onsubmit: async (ev) => {
      ev.preventDefault();
      clearMessage();
      submit.disabled = true;
      try {
        const t = types.find((x) => x.sourceType === type.value);
        let parameters;
        if (t.sourceType === 'FILE') {
          if (!files.length) throw new Problem(400, { title: 'No files', detail: 'Drop files on the box, or choose them, first.' });
          const ids = [];
          for (const [i, f] of files.entries()) {
            say(`Uploading ${f.name} (${i + 1} of ${files.length})…`, 'info');
            const form = new FormData();
            form.append('file', f, f.name);
            ids.push((await api.post('/storage?temporary=true', form)).fileId);
          }
          parameters = { fileIds: ids };
        } else {
          parameters = readProperties(t, fields);
        }
        const [provider, ...rest] = model.value.split('/');
        const body = { name: name.value.trim(), config: { sourceType: t.sourceType, parameters }, embedding: { provider, model: rest.join('/') } };
        const created = await api.post('/assets', body);
        clearMessage();
        location.hash = `#/assets/${created.asset.id}`;
      } catch (e) {
        sayProblem(e);
      } finally {
        submit.disabled = false;
      }
    },
  },
  h('div', null, h('label', { for: 'name' }, 'Name'), name),
  h('div', null, h('label', { for: 'source-type' }, 'Source'), type),
  fields,
  h('div', null, h('label', { for: 'model' }, 'Embedding model'), model),
  h('div', null, submit));
  show(h('h1', null, 'New asset'), form);
  describe();
  name.focus();
}

/** The drag-and-drop (or choose) box of a FILE asset; `files` collects the chosen ones. */
function dropZone(files) {
  const input = h('input', { type: 'file', id: 'files', multiple: true, class: 'visually-hidden', hidden: true });
  const list = h('ul', { class: 'files', 'aria-live': 'polite' });
  const redraw = () => list.replaceChildren(...files.map((f, i) => h('li', null, h('span', null, f.name, ' ', h('span', { class: 'muted' }, `${num(f.size)} bytes`)),
    h('button', { type: 'button', class: 'quiet', 'aria-label': `Remove ${f.name}`, onclick: () => { files.splice(i, 1); redraw(); } }, 'Remove'))));
  const add = (chosen) => { files.push(...chosen); redraw(); };
  input.addEventListener('change', () => { add([...input.files]); input.value = ''; });
  const zone = h('div', {
    class: 'drop',
    id: 'drop',
    role: 'button',
    tabindex: '0',
    'aria-describedby': 'drop-hint',
    onclick: () => input.click(),
    onkeydown: (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); input.click(); } },
    ondragover: (ev) => { ev.preventDefault(); zone.classList.add('over'); },
    ondragleave: () => zone.classList.remove('over'),
    ondrop: (ev) => { ev.preventDefault(); zone.classList.remove('over'); add([...ev.dataTransfer.files]); },
  }, h('strong', null, 'Drop files here'), ' or press to choose them',
  h('div', { id: 'drop-hint', class: 'hint' }, 'Each file becomes one document (PDF, HTML, Markdown, text, DOCX, CSV, JSON, …).'));
  redraw();
  return [h('label', { for: 'files' }, 'Files'), zone, input, list];
}

/** An input for one property of a source type's descriptor. */
function propertyInput(p) {
  const id = `param-${p.name}`;
  const label = h('label', { for: id }, p.name, p.required ? ' *' : '', ' ', h('span', { class: 'hint' }, p.description, p.defaultValue ? ` (default ${p.defaultValue})` : ''));
  let input;
  if (p.options && p.options.length) {
    input = h('select', { id }, p.required ? null : h('option', { value: '' }, '—'), p.options.map((o) => h('option', { value: o }, o)));
  } else if (p.type === 'BOOLEAN') {
    input = h('select', { id }, h('option', { value: '' }, '—'), h('option', { value: 'true' }, 'yes'), h('option', { value: 'false' }, 'no'));
  } else if (p.type === 'INTEGER') {
    input = h('input', { type: 'number', id, step: '1' });
  } else if (p.type === 'STRING_LIST') {
    input = h('textarea', { id, rows: 3, placeholder: 'one per line' });
  } else if (p.type === 'OBJECT_LIST') {
    input = h('textarea', { id, rows: 5, placeholder: '[{"name": "…", "text": "…"}]' });
  } else {
    input = h('input', { type: p.secret ? 'password' : 'text', id, autocomplete: 'off' });
  }
  input.dataset.property = p.name;
  input.dataset.kind = p.type;
  if (p.required) input.required = true;
  return h('div', null, label, input);
}

/** The parameters the form's property inputs hold (empty ones left out). */
function readProperties(t, fields) {
  const parameters = {};
  for (const input of fields.querySelectorAll('[data-property]')) {
    const v = input.value.trim();
    if (!v) continue;
    const kind = input.dataset.kind;
    if (kind === 'INTEGER') parameters[input.dataset.property] = Number(v);
    else if (kind === 'BOOLEAN') parameters[input.dataset.property] = v === 'true';
    else if (kind === 'STRING_LIST') parameters[input.dataset.property] = v.split('\n').map((s) => s.trim()).filter(Boolean);
    else if (kind === 'OBJECT_LIST') {
      try {
        parameters[input.dataset.property] = JSON.parse(v);
      } catch (e) {
        throw new Problem(400, { title: 'Invalid request', errors: [{ field: input.dataset.property, message: `must be a JSON list (${e.message})` }] });
      }
    } else parameters[input.dataset.property] = v;
  }
  return parameters;
}

// -- one asset

async function assetPage(id) {
  const signal = page.signal;
  const [asset, ops] = await Promise.all([api.get(`/assets/${id}`, signal), api.get(`/assets/${id}/operations?PageSize=50`, signal)]);
  const facts = h('dl', { class: 'facts' });
  const drawFacts = (a) => facts.replaceChildren(...[
    ['Status', statusBadge(a.status)],
    ['Type', a.type],
    ['Documents', num(a.documentCount)],
    ['Chunks', num(a.chunkCount)],
    ['Tokens', num(a.budget?.totalTokenCount)],
    ['Cost', money(a.budget?.totalCost)],
    ['Model', `${a.embedding?.provider}/${a.embedding?.model}`],
    ['Created', when(a.createdAt)],
  ].map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v))));
  drawFacts(asset);

  const opsBody = h('tbody');
  const chart = h('div');
  const docs = h('div');
  const operations = ops.items || [];
  const rowOf = new Map();
  const drawOp = (op) => {
    const running = !TERMINAL.has(op.status);
    const row = h('tr', { id: `op-${op.id}`, 'data-status': op.status },
      h('td', null, op.type),
      h('td', null, statusBadge(op.status)),
      h('td', null, running
        ? h('progress', { max: '1', value: String(op.progress || 0), 'aria-label': `progress of ${op.type}` })
        : null,
      ' ', `${num(op.itemsProcessed)}/${num(op.itemsTotal)}`,
      op.itemsFailed ? h('span', { class: 'reason' }, ` · ${op.itemsFailed} failed`) : null,
      op.itemsSkipped ? h('span', { class: 'muted' }, ` · ${op.itemsSkipped} unchanged`) : null),
      h('td', { class: 'num' }, num(op.tokenCount)),
      h('td', { class: 'num' }, money(op.cost)),
      h('td', null, when(op.createdAt), op.startedAt && op.completedAt ? h('span', { class: 'muted' }, ` (${seconds(op.completedAt - op.startedAt)})`) : null),
      h('td', null, op.errorMessage ? h('span', { class: 'reason' }, op.errorMessage) : null),
      h('td', null, running ? h('button', { type: 'button', class: 'danger', onclick: () => cancel(op) }, 'Cancel') : null));
    const old = rowOf.get(op.id);
    if (old) old.replaceWith(row);
    else opsBody.append(row);
    rowOf.set(op.id, row);
  };
  const cancel = async (op) => {
    try {
      drawOp(await api.post(`/assets/${id}/operations/${op.id}:cancel`));
      say(`Cancel requested: the operation stops at its next checkpoint (within one embedding batch).`, 'info');
    } catch (e) {
      sayProblem(e);
    }
  };
  const follow = (op) => {
    watch(id, op.id, (snapshot) => {
      drawOp(snapshot);
      const i = operations.findIndex((o) => o.id === snapshot.id);
      if (i >= 0) operations[i] = snapshot;
      drawChart(chart, operations);
    }, signal).then(async () => {
      if (signal.aborted) return;
      drawFacts(await api.get(`/assets/${id}`, signal));
      drawChart(chart, operations);
      await drawDocuments(docs, id, signal);
    }).catch((e) => { if (e.name !== 'AbortError') sayProblem(e); });
  };
  const refresh = async (force) => {
    try {
      const r = await api.post(`/assets/${id}:refresh`, force ? { force: true } : {});
      operations.unshift(r.operation);
      drawOp(r.operation);
      opsBody.prepend(rowOf.get(r.operation.id));
      follow(r.operation);
      clearMessage();
    } catch (e) {
      sayProblem(e);
    }
  };
  let armed = false;
  const remove = h('button', {
    type: 'button',
    class: 'danger',
    onclick: async () => {
      if (!armed) {
        armed = true;
        remove.textContent = 'Press again to delete, with all its documents';
        return;
      }
      try {
        await api.del(`/assets/${id}`);
        say(`Deleted ${asset.displayName}.`, 'info');
        location.hash = '#/assets';
      } catch (e) {
        sayProblem(e);
      }
    },
  }, 'Delete');

  for (const op of operations) drawOp(op);
  show(
    h('p', null, h('a', { href: '#/assets' }, '← Assets')),
    h('h1', null, asset.displayName),
    asset.assetLink ? h('p', { class: 'muted' }, asset.assetLink) : null,
    facts,
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => refresh(false) }, 'Refresh'),
      h('button', { type: 'button', onclick: () => refresh(true), title: 'Re-process unchanged documents too' }, 'Refresh all'),
      h('a', { class: 'button', href: `#/search?asset=${id}` }, 'Search this asset'),
      remove),
    h('h2', null, 'Operations'),
    table([['Type'], ['Status'], ['Items'], ['Tokens', 'num'], ['Cost', 'num'], ['Created'], ['Error'], ['']], opsBody),
    h('h2', null, 'Tokens and cost per operation'),
    chart,
    h('h2', null, 'Documents'),
    docs);
  for (const op of operations) if (!TERMINAL.has(op.status)) follow(op);
  drawChart(chart, operations);
  await drawDocuments(docs, id, signal);
}

/** The asset's documents, failed ones with their reasons; a filter shows only failures. */
async function drawDocuments(box, asset, signal) {
  let documents;
  try {
    documents = await api.all(`/assets/${asset}/documents`, signal);
  } catch (e) {
    if (e.status === 404) return box.replaceChildren(h('p', { class: 'muted' }, 'No documents yet: the first ingestion has not completed.'));
    throw e;
  }
  const failed = documents.filter((d) => d.status === 'FAILED');
  const filter = h('select', { id: 'doc-filter', 'aria-label': 'Show documents' },
    h('option', { value: '' }, `All (${documents.length})`), h('option', { value: 'FAILED' }, `Failed (${failed.length})`));
  const body = h('tbody');
  const draw = () => body.replaceChildren(...(filter.value ? failed : documents).map((d) => h('tr', { 'data-status': d.status },
    h('td', null, h('a', { href: `#/assets/${asset}/documents/${d.id}` }, d.fileName)),
    h('td', null, statusBadge(d.status)),
    h('td', { class: 'num' }, num(d.chunkCount)),
    h('td', { class: 'num' }, num(d.tokenCount)),
    h('td', null, d.errorMessage ? h('span', { class: 'reason' }, d.errorMessage) : null))));
  filter.addEventListener('change', draw);
  draw();
  box.replaceChildren(h('div', { class: 'actions' }, filter),
    table([['Name'], ['Status'], ['Chunks', 'num'], ['Tokens', 'num'], ['Reason']], body));
}

/** A bar per operation (tokens), oldest first, with the cost as a line. */
function drawChart(box, operations) {
  const ops = [...operations].filter((o) => o.startedAt || o.tokenCount).sort((a, b) => a.createdAt - b.createdAt).slice(-30);
  if (!ops.length) return box.replaceChildren(h('p', { class: 'muted' }, 'No operation has run yet.'));
  const ns = 'http://www.w3.org/2000/svg';
  const s = (tag, attrs, ...kids) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    el.append(...kids);
    return el;
  };
  const [W, H, L, B, T] = [720, 200, 56, 28, 16];
  const maxTokens = Math.max(1, ...ops.map((o) => o.tokenCount));
  const maxCost = Math.max(...ops.map((o) => o.cost));
  const step = Math.min(64, (W - L - 8) / ops.length);
  const y = (v, max) => H - B - (max > 0 ? (v / max) * (H - B - T) : 0);
  const bars = ops.map((o, i) => s('rect', { class: 'bar', x: L + i * step + step * 0.15, y: y(o.tokenCount, maxTokens), width: step * 0.7, height: H - B - y(o.tokenCount, maxTokens) },
    s('title', {}, `${o.type} ${new Date(o.createdAt).toLocaleString()}: ${num(o.tokenCount)} tokens, ${money(o.cost)}`)));
  const points = ops.map((o, i) => `${L + i * step + step / 2},${y(o.cost, maxCost)}`).join(' ');
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': 'chart-title' },
    s('title', { id: 'chart-title' }, `Tokens (bars, up to ${num(maxTokens)}) and cost (line, up to ${money(maxCost)}) of the last ${ops.length} operations`),
    s('text', { x: 4, y: T }, `${num(maxTokens)} tok`),
    s('text', { x: 4, y: H - B }, '0'),
    s('text', { x: W - 130, y: T }, `cost ≤ ${money(maxCost)}`),
    ...bars,
    maxCost > 0 ? s('polyline', { class: 'cost', points }) : s('g', {}),
    ...ops.map((o, i) => s('text', { x: L + i * step + step / 2 - 12, y: H - 8 }, new Date(o.createdAt).toLocaleDateString(undefined, { month: 'numeric', day: 'numeric' }))));
  box.replaceChildren(svg);
}

// -- one document

async function documentPage(asset, id) {
  const signal = page.signal;
  const doc = await api.get(`/assets/${asset}/documents/${id}`, signal);
  const list = h('div');
  const more = h('button', { type: 'button', hidden: true }, 'More chunks');
  let token = '';
  const load = async () => {
    const p = await api.get(`/assets/${asset}/documents/${id}/chunks?PageSize=50${token ? `&PageToken=${encodeURIComponent(token)}` : ''}`, signal);
    for (const c of p.chunks) {
      list.append(h('article', { class: 'chunk-item' },
        h('h3', { class: 'trail' }, `#${c.chunkIndex}`, c.headingPath ? ` · ${c.headingPath}` : '', ` · lines ${c.startLine}–${c.endLine}`,
          c.pageNumber ? ` · page ${c.pageNumber}` : '', ` · ${num(c.tokenCount)} tokens`),
        h('div', { class: 'chunk' }, c.content)));
    }
    token = p.nextPageToken || '';
    more.hidden = !token;
    return p;
  };
  more.addEventListener('click', () => load().catch(failed));
  show(
    h('p', null, h('a', { href: `#/assets/${asset}` }, '← Asset')),
    h('h1', null, doc.fileName),
    h('dl', { class: 'facts' }, [
      ['Status', statusBadge(doc.status)], ['Type', doc.contentType], ['Size', `${num(doc.fileSize)} bytes`],
      ['Chunks', num(doc.chunkCount)], ['Tokens', num(doc.tokenCount)], ['Processed', when(doc.processedAt)],
    ].map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v)))),
    doc.sourceUrl ? h('p', null, h('a', { href: doc.sourceUrl, rel: 'noreferrer' }, doc.sourceUrl)) : null,
    doc.errorMessage ? h('section', { id: 'failure' }, h('h2', null, 'Why it failed'), h('p', { class: 'reason' }, doc.errorMessage)) : null,
    h('h2', null, 'Chunks'),
    list,
    more);
  if (doc.chunkCount > 0) {
    const p = await load();
    if (!p.chunks.length) list.append(h('p', { class: 'muted' }, 'No chunks.'));
  } else list.append(h('p', { class: 'muted' }, 'No chunks.'));
}

// -- search

async function searchPage(params) {
  const assets = await api.all('/assets', page.signal);
  const chosen = new Set((params.get('asset') || '').split(',').filter(Boolean));
  const query = h('input', { type: 'text', id: 'query', name: 'query', required: true, autocomplete: 'off' });
  const mode = h('select', { id: 'mode' }, h('option', { value: 'HYBRID' }, 'Hybrid'), h('option', { value: 'VECTOR' }, 'Vector'), h('option', { value: 'FULL_TEXT' }, 'Full text'));
  const topK = h('input', { type: 'number', id: 'top-k', min: '1', max: '100', value: '10' });
  const threshold = h('input', { type: 'number', id: 'threshold', step: 'any', placeholder: 'none' });
  const vectorWeight = h('input', { type: 'number', id: 'vector-weight', min: '0', step: '0.1', placeholder: '1' });
  const ftsWeight = h('input', { type: 'number', id: 'fts-weight', min: '0', step: '0.1', placeholder: '1' });
  const weights = h('div', { class: 'row' },
    h('div', null, h('label', { for: 'vector-weight' }, 'Vector weight'), vectorWeight),
    h('div', null, h('label', { for: 'fts-weight' }, 'Full-text weight'), ftsWeight));
  mode.addEventListener('change', () => { weights.hidden = mode.value !== 'HYBRID'; });
  const boxes = assets.map((a) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: a.id, checked: chosen.has(a.id) }), a.displayName, h('span', { class: 'muted' }, ` (${a.type})`)));
  const results = h('div', { 'aria-live': 'polite', id: 'results' });
  const form = h('form', {
    class: 'stack',
    onsubmit: async (ev) => {
      ev.preventDefault();
      clearMessage();
      const body = { query: query.value, topK: Number(topK.value || 10), searchMode: mode.value };
      const ids = boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
      if (ids.length) body.assetIds = ids;
      if (threshold.value !== '') body.scoreThreshold = Number(threshold.value);
      if (mode.value === 'HYBRID' && vectorWeight.value !== '') body.vectorWeight = Number(vectorWeight.value);
      if (mode.value === 'HYBRID' && ftsWeight.value !== '') body.ftsWeight = Number(ftsWeight.value);
      try {
        const r = await api.post('/search', body);
        results.replaceChildren(...drawResults(r, query.value, assets));
      } catch (e) {
        sayProblem(e);
      }
    },
  },
  h('div', { class: 'row' },
    h('div', { class: 'grow' }, h('label', { for: 'query' }, 'Query'), query),
    h('div', null, h('label', { for: 'mode' }, 'Mode'), mode),
    h('div', null, h('label', { for: 'top-k' }, 'Top K'), topK),
    h('div', null, h('label', { for: 'threshold' }, 'Score threshold'), threshold)),
  weights,
  h('fieldset', null, h('legend', null, 'Assets ', h('span', { class: 'hint' }, '(none ticked: all)')), boxes.length ? boxes : h('span', { class: 'muted' }, 'No assets yet.')),
  h('div', null, h('button', { type: 'submit', class: 'primary' }, 'Search')));
  show(h('h1', null, 'Search'), form, results);
  query.focus();
}

function drawResults(r, q, assets) {
  const names = new Map(assets.map((a) => [a.id, a.displayName]));
  if (!r.results.length) return [h('p', { class: 'muted' }, `No results (${r.tookMs} ms).`)];
  return [
    h('p', { class: 'muted' }, `${r.results.length} results in ${r.tookMs} ms`),
    h('ol', { class: 'results' }, r.results.map((hit) => {
      const place = hit.sourceUrl && /^https?:/.test(hit.sourceUrl) ? h('a', { href: hit.sourceUrl, rel: 'noreferrer' }, hit.sourceUrl) : hit.source;
      return h('li', { class: 'result' },
        h('div', null, h('strong', { class: 'score' }, hit.score.toFixed(3)), ' ',
          h('a', { href: `#/assets/${hit.assetId}/documents/${hit.documentId}` }, hit.source || 'document'),
          hit.headingPath ? h('span', { class: 'trail' }, ` › ${hit.headingPath}`) : null,
          h('span', { class: 'muted' }, ` · ${names.get(hit.assetId) || hit.assetId} · lines ${hit.startLine}–${hit.endLine}${hit.pageNumber ? ` · page ${hit.pageNumber}` : ''}`)),
        place !== hit.source ? h('div', { class: 'muted' }, place) : null,
        h('p', { class: 'snippet' }, highlight(snippet(hit.content, q), q)));
    })),
  ];
}

/** The part of a chunk around the first query term it holds, at most ~320 characters. */
function snippet(text, q) {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= 320) return flat;
  const terms = termsOf(q);
  const lower = flat.toLowerCase();
  const at = Math.min(...terms.map((t) => lower.indexOf(t)).filter((i) => i >= 0), flat.length);
  const start = at === flat.length ? 0 : Math.max(0, at - 100);
  return `${start ? '…' : ''}${flat.slice(start, start + 320)}…`;
}

/** Words too common to be worth marking. */
const STOP = new Set('a an and are as at be but by do does for from how in is it of on or that the this to was what when where which who why with'.split(' '));

function termsOf(q) {
  return [...new Set(q.toLowerCase().split(/[^\p{L}\p{N}_]+/u).filter((t) => t.length > 1 && !STOP.has(t)))];
}

/** Text nodes with the query's terms wrapped in <mark> (no HTML is ever parsed). */
function highlight(text, q) {
  const terms = termsOf(q).map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  if (!terms.length) return [text];
  const re = new RegExp(`(?<![\\p{L}\\p{N}])(${terms.join('|')})(?![\\p{L}\\p{N}])`, 'giu');
  return text.split(re).map((part, i) => (i % 2 ? h('mark', null, part) : part));
}

// ---- routing ---------------------------------------------------------------------------------

const ROUTES = [
  [/^#\/assets$/, () => assetsPage(), 'assets'],
  [/^#\/new$/, () => newPage(), 'new'],
  [/^#\/search$/, (_, params) => searchPage(params), 'search'],
  [/^#\/assets\/([\w-]+)$/, (m) => assetPage(m[1]), 'assets'],
  [/^#\/assets\/([\w-]+)\/documents\/([\w-]+)$/, (m) => documentPage(m[1], m[2]), 'assets'],
];

function failed(e) {
  if (e && e.name === 'AbortError') return;
  if (!session.token) return signInPage(e.title);
  sayProblem(e);
}

async function render() {
  page.abort();
  page = new AbortController();
  if (!session.token) return signInPage();
  document.getElementById('nav').hidden = false;
  document.getElementById('sign-out').hidden = false;
  document.getElementById('who').textContent = `tenant ${session.tenant}`;
  const [path, query] = (location.hash || '#/assets').split('?');
  const params = new URLSearchParams(query || '');
  const route = ROUTES.find(([re]) => re.test(path));
  if (!route) {
    location.hash = '#/assets';
    return;
  }
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === `#/${route[2]}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  show(h('p', { class: 'muted' }, 'Loading…'));
  try {
    await route[1](path.match(route[0]), params);
  } catch (e) {
    failed(e);
  }
}

window.addEventListener('hashchange', () => { clearMessage(); render(); });
document.getElementById('sign-out').addEventListener('click', () => {
  session.clear();
  clearMessage();
  render();
});
render();
