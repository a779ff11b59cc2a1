#!/usr/bin/env node
// The web console and /api/docs/ in a real browser: headless Debian Chromium driven by
// playwright-core (from web/node_modules), against the real binary on a generated data set.
// Every step compares what the page shows with the API's own answers and leaves a screenshot
// in WORKDIR/screenshots.
//
//   node tests/web/console_test.mjs --binary build/contacts-api --workdir /tmp/web-test
import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import {createRequire} from 'node:module';
import net from 'node:net';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {fileURLToPath} from 'node:url';
import zlib from 'node:zlib';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const {chromium} = createRequire(path.join(REPO, 'web/package.json'))('playwright-core');

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];
const ADMIN = {username: 'console-admin', password: 'console-admin-password-1'};
const READER = {username: 'console-reader', password: 'console-reader-password-1'};
const ROWS = 1500;
const UPLOAD_ROWS = 3000;

function option(name) {
  const i = process.argv.indexOf(name);
  if (i < 0 || !process.argv[i + 1]) {
    console.error(`usage: console_test.mjs --binary CONTACTS_API --workdir DIR (missing ${name})`);
    process.exit(2);
  }
  return path.resolve(process.argv[i + 1]);
}
const BINARY = option('--binary');
const WORKDIR = option('--workdir');
const SHOTS = path.join(WORKDIR, 'screenshots');

// --- processes ---------------------------------------------------------------------------

function baseEnv(dataDir, extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('CONTACTS_') && k !== 'DATABASE_URL' && k !== 'DB_CONTACTS_REPLICA_URL') {
      env[k] = v;
    }
  }
  return {...env, CONTACTS_DATA_DIR: dataDir, ...extra};
}

function run(args, env, input) {
  const p = spawnSync(BINARY, args, {env, cwd: WORKDIR, input, timeout: 300_000});
  if (p.status !== 0) {
    throw new Error(`contacts-api ${args.join(' ')} failed (${p.status}): ${p.stderr}`);
  }
  return p.stdout.toString();
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

class Server {
  constructor(name, dataDir, env = {}) {
    this.name = name;
    this.dataDir = dataDir;
    this.extraEnv = env;
    this.proc = null;
    this.stderrPath = path.join(WORKDIR, `server-${name}.stderr`);
  }

  async start() {
    this.port = await freePort();
    this.base = `http://127.0.0.1:${this.port}`;
    const err = fs.openSync(this.stderrPath, 'a');
    this.proc = spawn(BINARY, ['serve'], {
      cwd: WORKDIR,
      stdio: ['ignore', 'ignore', err],
      env: baseEnv(this.dataDir, {
        CONTACTS_HOST: '127.0.0.1', CONTACTS_PORT: String(this.port), CONTACTS_THREADS: '4',
        CONTACTS_SECRET_KEY: 'web-console-test-secret-key-0123456789', ...this.extraEnv,
      }),
    });
    fs.closeSync(err);
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) break;
      try {
        if ((await fetch(`${this.base}/api/health/`)).status === 200) return;
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`server ${this.name} did not start:\n${this.stderrTail()}`);
  }

  stderrTail() {
    try {
      return fs.readFileSync(this.stderrPath, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  async request(pathname, {token, headers = {}, method = 'GET'} = {}) {
    const h = {Accept: 'application/json', ...headers};
    if (token) h.Authorization = `Bearer ${token}`;
    return fetch(this.base + pathname, {method, headers: h});
  }

  async json(pathname, token) {
    const r = await this.request(pathname, {token});
    const text = await r.text();
    assert.equal(r.status, 200, `GET ${pathname}: ${r.status} ${text}`);
    return JSON.parse(text);
  }

  async token(user) {
    const r = await fetch(`${this.base}/api/auth/token/`, {
      method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(user),
    });
    assert.equal(r.status, 200);
    return (await r.json()).access;
  }
}

// --- data ----------------------------------------------------------------------------------

// A generated CSV plus rows the importer must reject (a bad e-mail, a negative number, a short
// row), to exercise the errors file.
function uploadFile() {
  const file = path.join(WORKDIR, 'upload.csv');
  run(['generate', '--rows', String(UPLOAD_ROWS), '--seed', '77', '--out', file], baseEnv(WORKDIR));
  const header = fs.readFileSync(file, 'utf8').split('\n', 1)[0].split(',');
  const row = (values) => header.map((name) => values[name] ?? '').join(',');
  const bad = [
    row({'First Name': 'Broken', 'Email': 'not-an-email'}),
    row({'First Name': 'Negative', 'Email': 'negative@example.com', '# Employees': '-5'}),
    'Short,Row',
  ];
  fs.appendFileSync(file, bad.join('\n') + '\n');
  return file;
}

// total_rows, success and errors of the CLI importing `file` into an empty store: what the
// job started from the console must report.
function expectedCounters(file) {
  const dir = path.join(WORKDIR, 'data-expected');
  const out = run(['import', file, '--errors', path.join(WORKDIR, 'expected-errors.csv')],
                  baseEnv(dir));
  const m = out.match(/total_rows=(\d+) success=(\d+) errors=(\d+)/);
  assert.ok(m, `import summary: ${out}`);
  return {total_rows: Number(m[1]), success_count: Number(m[2]), error_count: Number(m[3])};
}

// --- browser helpers -------------------------------------------------------------------------

let browser;
const problems = [];  // console errors, page errors, requests leaving loopback

async function newPage(allowedErrors = []) {
  const context = await browser.newContext({viewport: {width: 1440, height: 900},
                                            acceptDownloads: true});
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (!['http:', 'https:'].includes(url.protocol)) return;  // data:, blob:
    if (url.hostname !== '127.0.0.1') problems.push(`request left the server: ${request.url()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    if (!allowedErrors.some((re) => re.test(text))) problems.push(`console error: ${text}`);
  });
  return page;
}

let shot = 0;
async function screenshot(page, name) {
  shot += 1;
  await page.screenshot({path: path.join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`),
                         fullPage: true});
}

// Waits until the table shows the answer to exactly `params` (as sent to /api/contacts/).
async function waitForTable(page, params) {
  await page.waitForFunction((expected) => {
    const table = document.getElementById('contacts');
    if (table.dataset.loading !== 'false' || table.dataset.status !== 'ok') return false;
    const got = Object.fromEntries(new URLSearchParams(table.dataset.query));
    const keys = Object.keys(expected);
    return keys.length === Object.keys(got).length && keys.every((k) => got[k] === expected[k]);
  }, params);
}

const tableIds = (page) => page.$$eval('#contacts tbody tr[data-id]',
                                       (rows) => rows.map((r) => Number(r.dataset.id)));

function query(params) {
  return new URLSearchParams(params).toString();
}

// The table shows the API's page for `params`, row for row, and the API's count.
async function assertTableMatchesApi(server, page, params) {
  await waitForTable(page, params);
  const expected = await server.json(`/api/contacts/?${query(params)}`);
  assert.deepEqual(await tableIds(page), expected.results.map((c) => c.id),
                   `rows for ${query(params)}`);
  if (expected.results.length) {
    const first = expected.results[0];
    const cells = await page.$$eval('#contacts tbody tr:first-child td',
                                    (tds) => Object.fromEntries(tds.map((td) =>
                                      [td.dataset.column, td.textContent])));
    assert.equal(cells.email, first.email || '—');
    assert.equal(cells.company, first.company || '—');
    assert.equal(cells.employees, first.employees === null ? '—' :
                 first.employees.toLocaleString('en-US'));
  }
  const filters = Object.fromEntries(Object.entries(params).filter(([k]) =>
    !['ordering', 'page_size', 'limit', 'offset', 'cursor'].includes(k)));
  const {count} = await server.json(`/api/contacts/count/?${query(filters)}`);
  await page.waitForSelector(`#count[data-count="${count}"]`);
  return expected;
}

function formatted(value) {
  if (value === null || value === '') return '—';
  return typeof value === 'number' ? value.toLocaleString('en-US') : String(value);
}

// --- the tests -------------------------------------------------------------------------------

const main = {};      // the server with the data set and an admin
const guarded = {};   // a server with CONTACTS_READS_REQUIRE_AUTH=true

describe('web console', {concurrency: 1}, () => {
  before(async () => {
    fs.rmSync(WORKDIR, {recursive: true, force: true});
    fs.mkdirSync(SHOTS, {recursive: true});
    const data = path.join(WORKDIR, 'data');
    const csv = path.join(WORKDIR, 'contacts.csv');
    run(['generate', '--rows', String(ROWS), '--seed', '20261126', '--out', csv], baseEnv(data));
    run(['import', csv], baseEnv(data));
    run(['create-admin', '--username', ADMIN.username], baseEnv(data, {CONTACTS_PASSWORD: ADMIN.password}));
    main.server = new Server('main', data);

    const guardedData = path.join(WORKDIR, 'data-guarded');
    const small = path.join(WORKDIR, 'small.csv');
    run(['generate', '--rows', '120', '--seed', '5', '--out', small], baseEnv(guardedData));
    run(['import', small], baseEnv(guardedData));
    run(['create-user', '--username', READER.username], baseEnv(guardedData, {CONTACTS_PASSWORD: READER.password}));
    guarded.server = new Server('guarded', guardedData, {CONTACTS_READS_REQUIRE_AUTH: 'true'});

    await Promise.all([main.server.start(), guarded.server.start()]);
    browser = await chromium.launch({executablePath: CHROMIUM, args: CHROMIUM_ARGS,
                                     headless: true});
    main.page = await newPage([/status of 401/]);  // the wrong password below
  });

  after(async () => {
    await browser?.close();
    await main.server?.stop();
    await guarded.server?.stop();
    assert.deepEqual(problems, [], 'no console errors, page errors or requests off the server');
  });

  it('serves the page, its assets with ETags and gzip, and the JSON index to JSON clients', async () => {
    const s = main.server;
    const page = await s.request('/', {headers: {Accept: 'text/html,*/*;q=0.8'}});
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /^text\/html; charset=utf-8$/);
    assert.match(page.headers.get('content-security-policy'), /default-src 'self'/);
    assert.match(await page.text(), /<script type="module" src="\/assets\/main.js">/);
    const plain = await fetch(`${s.base}/`);  // no Accept header of interest: the page
    assert.match(plain.headers.get('content-type'), /^text\/html/);
    const index = await s.request('/', {headers: {Accept: 'application/json'}});
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type'), /^application\/json; charset=utf-8$/);
    assert.ok((await index.json()).endpoints.includes('/api/contacts/'));
    assert.equal((await s.request('/favicon.ico')).status, 204);
    assert.equal((await s.request('/', {method: 'POST'})).status, 405);

    const identity = {'Accept-Encoding': 'identity'};
    const js = await s.request('/assets/main.js', {headers: {Accept: '*/*', ...identity}});
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    const etag = js.headers.get('etag');
    assert.match(etag, /^"[0-9a-f]{24}"$/);
    const body = Buffer.from(await js.arrayBuffer());
    assert.deepEqual(body, fs.readFileSync(path.join(REPO, 'web/static/main.js')));
    const again = await s.request('/assets/main.js',
                                  {headers: {'If-None-Match': etag, ...identity}});
    assert.equal(again.status, 304);
    assert.equal((await again.arrayBuffer()).byteLength, 0);

    // fetch() would decode gzip itself: ask with a raw socket-level client instead.
    const raw = await rawGet(s.port, '/assets/swagger-ui-bundle.js', {'Accept-Encoding': 'gzip'});
    assert.equal(raw.headers['content-encoding'], 'gzip');
    assert.deepEqual(zlib.gunzipSync(raw.body), fs.readFileSync(
      path.join(REPO, 'web/node_modules/swagger-ui-dist/swagger-ui-bundle.js')));
    const missing = await s.request('/assets/nope.js');
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), {detail: 'Not found.'});
  });

  it('loads the console: first page and count as the API answers them', async () => {
    const {page, server} = main;
    await page.goto(`${server.base}/`);
    await assertTableMatchesApi(server, page, {page_size: '25'});
    await screenshot(page, 'console');
  });

  it('offers every filter of the list endpoint, each one a real filter of the API', async () => {
    const {page, server} = main;
    const offered = await page.$$eval('#add-filter option[value]:not([value=""])',
                                      (opts) => opts.map((o) => [o.value, o.dataset.kind]));
    const reference = [
      'first_name', 'last_name', 'title', 'company', 'company_name_for_emails', 'email',
      'departments', 'work_direct_phone', 'home_phone', 'mobile_phone', 'corporate_phone',
      'other_phone', 'city', 'state', 'country', 'technologies', 'keywords',
      'person_linkedin_url', 'website', 'company_linkedin_url', 'facebook_url', 'twitter_url',
      'company_address', 'company_city', 'company_state', 'company_country', 'company_phone',
      'industry', 'latest_funding', 'last_raised_at', 'email_status',
      'primary_email_catch_all_status', 'stage', 'seniority', 'employees', 'annual_revenue',
      'total_funding', 'latest_funding_amount', 'created_at', 'updated_at'];
    assert.deepEqual(offered.map(([key]) => key).sort(), [...reference].sort());
    // A value nothing has must leave no contact: an unknown parameter would be ignored.
    const impossible = {text: 'zz-no-such-value-zz', exact: 'zz-no-such-value-zz',
                        range: ['_min', '999999999999999'], date: ['_after', '2999-01-01']};
    for (const [key, kind] of offered) {
      const probe = impossible[kind];
      const q = Array.isArray(probe) ? `${key}${probe[0]}=${probe[1]}` : `${key}=${probe}`;
      assert.equal((await server.json(`/api/contacts/count/?${q}`)).count, 0, q);
    }
  });

  it('filters with a distinct-value picker and a range, as the API does', async () => {
    const {page, server} = main;
    await page.selectOption('#add-filter', 'country');
    const input = page.locator('[data-filter="country"] input[name="country"]');
    await page.click('[data-filter="country"] .picker-toggle');
    const list = '.picker-list[data-field="country"]';
    await page.waitForSelector(`${list}[data-loading="false"][data-search=""]`);
    const all = await server.json('/api/contacts/country/?distinct=true&limit=20');
    assert.deepEqual(await page.$$eval(`${list} .picker-option`, (b) => b.map((x) => x.dataset.value)),
                     all.results.map((r) => r.country));
    // The listed country with the most contacts, so that the filters below leave some.
    const counts = await Promise.all(all.results.map((r) =>
      server.json(`/api/contacts/count/?country=${encodeURIComponent(r.country)}`)));
    const target = all.results[counts.reduce((best, c, i) =>
      (c.count > counts[best].count ? i : best), 0)].country;
    const prefix = target.slice(0, 3).toLowerCase();
    await input.fill(prefix);
    await page.waitForSelector(`${list}[data-loading="false"][data-search="${prefix}"]`);
    const narrowed = await server.json(`/api/contacts/country/?distinct=true&limit=20&search=${encodeURIComponent(prefix)}`);
    assert.deepEqual(await page.$$eval(`${list} .picker-option`, (b) => b.map((x) => x.dataset.value)),
                     narrowed.results.map((r) => r.country));
    await screenshot(page, 'picker');
    await page.click(`${list} .picker-option[data-value="${target}"]`);
    await assertTableMatchesApi(server, page, {country: target, page_size: '25'});

    await page.selectOption('#add-filter', 'employees');
    await page.fill('input[name="employees_min"]', '50');
    await page.press('input[name="employees_min"]', 'Enter');
    const filtered = await assertTableMatchesApi(server, page,
      {country: target, employees_min: '50', page_size: '25'});
    assert.ok(filtered.results.length > 0, 'the filters leave some contacts');
    await screenshot(page, 'filtered');

    const named = filtered.results.find((c) => c.last_name);
    assert.ok(named, 'a contact with a last name');
    const term = named.last_name;
    await page.fill('#search', term);
    await page.press('#search', 'Enter');
    const found = await assertTableMatchesApi(server, page,
      {country: target, employees_min: '50', search: term, page_size: '25'});
    assert.ok(found.results.some((c) => c.id === named.id));
    const href = await page.getAttribute('#export-link', 'href');
    assert.equal(href, `/api/contacts/export/?${query({country: target, employees_min: '50', search: term})}`);
    assert.equal(new URL(page.url()).search, `?${query({country: target, employees_min: '50', search: term})}`);
    await screenshot(page, 'search');
    await page.fill('#search', '');
    await page.press('#search', 'Enter');
    await waitForTable(page, {country: target, employees_min: '50', page_size: '25'});
  });

  it('sorts by a column, ascending then descending', async () => {
    const {page, server} = main;
    const filters = {country: (await page.inputValue('input[name="country"]')), employees_min: '50'};
    await page.click('th[data-column="employees"] button');
    await assertTableMatchesApi(server, page, {...filters, ordering: 'employees', limit: '25'});
    assert.equal(await page.getAttribute('th[data-column="employees"]', 'aria-sort'), 'ascending');
    await page.click('th[data-column="employees"] button');
    const desc = await assertTableMatchesApi(server, page, {...filters, ordering: '-employees', limit: '25'});
    assert.equal(await page.getAttribute('th[data-column="employees"]', 'aria-sort'), 'descending');
    const shown = desc.results.map((c) => c.employees).filter((n) => n !== null);
    assert.deepEqual(shown, [...shown].sort((a, b) => b - a));
    assert.match(await page.getAttribute('#export-link', 'href'), /[?&]ordering=-employees$/);
    await screenshot(page, 'sorted');
  });

  it('sorts by e-mail status and stage, in Unicode collation order (contract revision 2)', async () => {
    const {page, server} = main;
    const filters = {country: (await page.inputValue('input[name="country"]')), employees_min: '50'};
    await page.click('th[data-column="email_status"] button');
    const asc = await assertTableMatchesApi(server, page, {...filters, ordering: 'email_status', limit: '25'});
    assert.equal(asc.meta.strategy, 'limit_offset');
    const statuses = asc.results.map((c) => c.email_status).filter((s) => s !== '');
    const collator = new Intl.Collator('und', {sensitivity: 'variant'});
    assert.deepEqual(statuses, [...statuses].sort(collator.compare));
    await page.click('th[data-column="stage"] button');
    await page.click('th[data-column="stage"] button');
    await assertTableMatchesApi(server, page, {...filters, ordering: '-stage', limit: '25'});
    assert.equal(await page.getAttribute('th[data-column="stage"]', 'aria-sort'), 'descending');
    await page.click('th[data-column="employees"] button');
    await page.click('th[data-column="employees"] button');
    await assertTableMatchesApi(server, page, {...filters, ordering: '-employees', limit: '25'});
  });

  it('pages forwards and back with limit/offset and with cursors, with the count', async () => {
    const {page, server} = main;
    await page.click('[data-filter="country"] .remove');
    await page.click('[data-filter="employees"] .remove');
    const first = await assertTableMatchesApi(server, page, {ordering: '-employees', limit: '25'});
    const {count} = await server.json('/api/contacts/count/');
    assert.ok(count > 50);
    assert.ok(first.next);
    await page.click('#next-page');
    const second = await assertTableMatchesApi(server, page,
      Object.fromEntries(new URL(first.next).searchParams));
    await page.waitForSelector('#page-info[data-first="26"][data-last="50"]');
    assert.equal(await page.textContent('#page-info'),
                 `Rows 26–50 of ${count.toLocaleString('en-US')} · page 2 of ${Math.ceil(count / 25)}`);
    assert.notDeepEqual(second.results.map((c) => c.id), first.results.map((c) => c.id));
    await screenshot(page, 'page-2');
    await page.click('#prev-page');
    await page.waitForSelector('#page-info[data-first="1"]');
    assert.deepEqual(await tableIds(page), first.results.map((c) => c.id));

    // Back to the default ordering (-created_at): cursor pages.
    await page.click('th[data-column="employees"] button');
    const cursorFirst = await assertTableMatchesApi(server, page, {page_size: '25'});
    assert.equal(cursorFirst.meta.strategy, 'cursor');
    await page.click('#next-page');
    const cursorParams = Object.fromEntries(new URL(cursorFirst.next).searchParams);
    assert.ok(cursorParams.cursor);
    await assertTableMatchesApi(server, page, cursorParams);
    await page.waitForSelector('#page-info[data-page="2"]');
    await page.click('#prev-page');
    await page.waitForSelector('#page-info[data-page="1"]');
    assert.deepEqual(await tableIds(page), cursorFirst.results.map((c) => c.id));
  });

  it('opens a contact with every field of the API', async () => {
    const {page, server} = main;
    // The contact of the page with the most distinct values, so that a value shown under the
    // wrong field cannot pass for the right one.
    const contacts = await Promise.all((await tableIds(page)).map((id) =>
      server.json(`/api/contacts/${id}/`)));
    const distinct = (c) => new Set(Object.values(c).filter((v) => v !== '' && v !== null)
      .map(String)).size;
    const contact = contacts.reduce((best, c) => (distinct(c) > distinct(best) ? c : best));
    const id = contact.id;
    await page.click(`#contacts tbody tr[data-id="${id}"]`);
    await page.waitForSelector(`#detail[data-id="${id}"][data-loading="false"]`);
    await screenshot(page, 'contact');
    const shown = await page.$$eval('#detail dd[data-field]',
                                    (dds) => Object.fromEntries(dds.map((d) => [d.dataset.field, d.textContent])));
    for (const [field, value] of Object.entries(contact)) {
      if (field === 'meta_data') continue;
      assert.equal(shown[field], field === 'id' ? String(value) : formatted(value), field);
    }
    const meta = await page.$$eval('#detail dd[data-meta]',
                                   (dds) => Object.fromEntries(dds.map((d) => [d.dataset.meta, d.textContent])));
    assert.deepEqual(meta, contact.meta_data);
    await page.click('#detail-close');
  });

  it('charts the analytics endpoint; a click on a bar filters by it', async () => {
    const {page, server} = main;
    await page.click('.tabs a[data-tab="analytics"]');
    await page.waitForSelector('#analytics-view[data-loading="false"][data-limit="10"]');
    const analytics = await server.json('/api/contacts/analytics/?limit=10');
    const charted = await page.evaluate(() => Object.fromEntries(['countries', 'industries'].map((n) => {
      const chart = window.Chart.getChart(document.getElementById(`chart-${n}`));
      return [n, {labels: chart.data.labels, values: chart.data.datasets[0].data}];
    })));
    assert.deepEqual(charted.countries, {labels: analytics.top_countries.map((r) => r.country),
                                         values: analytics.top_countries.map((r) => r.total)});
    assert.deepEqual(charted.industries, {labels: analytics.top_industries.map((r) => r.industry),
                                          values: analytics.top_industries.map((r) => r.total)});
    assert.equal(await page.getAttribute('#analytics-total', 'data-total'),
                 String(analytics.total_contacts));
    // The canvas has been painted (bars in the chart's colour).
    const painted = await page.evaluate(() => {
      const canvas = document.getElementById('chart-countries');
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let bars = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i] === 0x2f && data[i + 1] === 0x6f && data[i + 2] === 0xb2) bars++;
      }
      return bars;
    });
    assert.ok(painted > 500, `bar pixels: ${painted}`);
    await screenshot(page, 'analytics');

    const box = await page.locator('#chart-countries').boundingBox();
    const bar = await page.evaluate(() => {
      const el = window.Chart.getChart(document.getElementById('chart-countries'))
        .getDatasetMeta(0).data[0];
      return {x: (el.x + el.base) / 2, y: el.y};
    });
    await page.mouse.click(box.x + bar.x, box.y + bar.y);
    await assertTableMatchesApi(server, page, {country: analytics.top_countries[0].country,
                                               page_size: '25'});
    assert.equal(new URL(page.url()).hash, '#contacts');
    await page.click('#clear-filters');
    await waitForTable(page, {page_size: '25'});
  });

  it('signs in as an admin (and refuses a wrong password)', async () => {
    const {page} = main;
    assert.equal(await page.isHidden('.tabs a[data-tab="import"]'), true);
    await page.click('#sign-in-button');
    await page.fill('#sign-in-form input[name="username"]', ADMIN.username);
    await page.fill('#sign-in-form input[name="password"]', 'wrong-password');
    await page.click('#sign-in-submit');
    await page.waitForSelector('#sign-in-error:not([hidden])');
    assert.equal(await page.textContent('#sign-in-error'),
                 'No active account found with the given credentials');
    await page.fill('#sign-in-form input[name="password"]', ADMIN.password);
    await page.click('#sign-in-submit');
    await page.waitForSelector(`#user-status[data-username="${ADMIN.username}"]`);
    assert.equal(await page.textContent('#user-status'), `${ADMIN.username} (admin)`);
    await page.waitForSelector('.tabs a[data-tab="import"]:not([hidden])');
    await screenshot(page, 'signed-in');
  });

  it('uploads a CSV, shows the job to completion with its counters, downloads its errors', async () => {
    const {page, server} = main;
    const file = uploadFile();
    const expected = expectedCounters(file);
    assert.equal(expected.error_count, 3);
    const countBefore = (await server.json('/api/contacts/count/')).count;
    await page.click('.tabs a[data-tab="import"]');
    await page.setInputFiles('#import-file', file);
    await page.evaluate(() => {
      window.importStates = [];
      const box = document.getElementById('import-job');
      new MutationObserver(() => {
        const state = `${box.dataset.state}:${document.getElementById('import-progress').value}`;
        if (window.importStates.at(-1) !== state) window.importStates.push(state);
      }).observe(document.getElementById('import-view'),
                 {attributes: true, subtree: true, childList: true, characterData: true});
    });
    await page.click('#import-submit');
    await page.waitForSelector('#import-job[data-state="completed"]', {timeout: 90_000});
    const id = await page.getAttribute('#import-job', 'data-job-id');
    const token = await server.token(ADMIN);
    const job = await server.json(`/api/contacts/import/${id}/`, token);
    assert.equal(job.status, 'completed');
    assert.deepEqual({total_rows: job.total_rows, success_count: job.success_count,
                      error_count: job.error_count}, expected);
    const counters = await page.$$eval('#import-counters dd[data-counter]', (dds) =>
      Object.fromEntries(dds.map((d) => [d.dataset.counter, d.dataset.value])));
    for (const key of ['id', 'status', 'message', 'total_rows', 'success_count', 'error_count',
                       'started_at', 'finished_at']) {
      assert.equal(counters[key], String(job[key]), key);
    }
    assert.equal(await page.$eval('#import-progress', (p) => p.value), 1);
    assert.equal(await page.textContent('#import-progress-text'),
                 `Completed: ${expected.success_count.toLocaleString('en-US')} imported, 3 failed`);
    const states = await page.evaluate(() => window.importStates);
    console.log(`# progress seen: ${states.join(' ')}`);
    assert.ok(states.some((s) => s.startsWith('uploading:')) &&
              states.some((s) => s.startsWith('importing:')), states.join(' '));
    await screenshot(page, 'import-completed');

    const [download] = await Promise.all([page.waitForEvent('download'),
                                          page.click('#import-errors')]);
    assert.equal(download.suggestedFilename(), `import-${id}-errors.csv`);
    const saved = path.join(WORKDIR, download.suggestedFilename());
    await download.saveAs(saved);
    const errors = await server.request(`/api/contacts/import/${id}/errors/`,
                                        {token, headers: {Accept: 'text/csv'}});
    assert.equal(errors.status, 200);
    const apiBytes = Buffer.from(await errors.arrayBuffer());
    assert.deepEqual(fs.readFileSync(saved), apiBytes);
    assert.equal(apiBytes.toString('utf8').trim().split('\n').length, 1 + 3);

    // The table and its count show the imported contacts.
    await page.click('.tabs a[data-tab="contacts"]');
    const {count} = await server.json('/api/contacts/count/');
    assert.ok(count > countBefore, `${count} > ${countBefore}`);
    await assertTableMatchesApi(server, page, {page_size: '25'});
    await screenshot(page, 'after-import');
  });

  it('renders the OpenAPI document at /api/docs/ with the embedded viewer', async () => {
    const {server} = main;
    const page = await newPage();
    const served = await server.request('/api/schema/');
    let schema;
    if (served.status === 200) {
      schema = await served.json();
    } else {
      // Until /api/schema/ exists: a small OpenAPI 3.1 document served to this page only.
      schema = {
        openapi: '3.1.0',
        info: {title: 'Console test schema', version: '1.0.0'},
        paths: {
          '/api/health/': {get: {summary: 'Health', responses: {200: {description: 'OK'}}}},
          '/api/contacts/count/': {get: {summary: 'Count', responses: {200: {description: 'OK'}}}},
        },
      };
      await page.route('**/api/schema/', (route) => route.fulfill({json: schema}));
    }
    await page.goto(`${server.base}/api/docs/`);
    await page.waitForSelector('.swagger-ui .info .title');
    assert.match(await page.textContent('.swagger-ui .info .title'), new RegExp(
      schema.info.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    // Every operation of the document is listed (once per tag it has, so compare sets).
    const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
    const operations = Object.entries(schema.paths).flatMap(([route, item]) => Object.keys(item)
      .filter((k) => methods.includes(k)).map((k) => `${k.toUpperCase()} ${route}`)).sort();
    await page.waitForSelector('.swagger-ui .opblock');
    const listed = await page.$$eval('.swagger-ui .opblock-summary', (blocks) => blocks.map((b) =>
      `${b.querySelector('.opblock-summary-method').textContent} ` +
      b.querySelector('.opblock-summary-path').dataset.path));
    assert.deepEqual([...new Set(listed)].sort(), operations);
    await screenshot(page, 'api-docs');
    await page.context().close();
  });

  it('lets a user sign in for reads when the server requires it', async () => {
    const {server} = guarded;
    const page = await newPage([/status of 401/]);
    await page.goto(`${server.base}/`);
    await page.waitForSelector('#sign-in-dialog[open] #sign-in-reason:not([hidden])');
    await screenshot(page, 'reads-need-sign-in');
    await page.fill('#sign-in-form input[name="username"]', READER.username);
    await page.fill('#sign-in-form input[name="password"]', READER.password);
    await page.click('#sign-in-submit');
    await page.waitForSelector(`#user-status[data-username="${READER.username}"]`);
    await waitForTable(page, {page_size: '25'});
    const token = await server.token(READER);
    const expected = await server.json('/api/contacts/?page_size=25', token);
    assert.deepEqual(await tableIds(page), expected.results.map((c) => c.id));
    const {count} = await server.json('/api/contacts/count/', token);
    await page.waitForSelector(`#count[data-count="${count}"]`);
    assert.equal(await page.isHidden('.tabs a[data-tab="import"]'), true, 'not an admin');
    await screenshot(page, 'reader-signed-in');
    await page.context().close();
  });
});

// GET without any decoding of the body (fetch() would gunzip it).
function rawGet(port, pathname, headers) {
  return new Promise((resolve, reject) => {
    import('node:http').then(({default: http}) => {
      const request = http.get({host: '127.0.0.1', port, path: pathname, headers}, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({status: res.statusCode, headers: res.headers,
                                     body: Buffer.concat(chunks)}));
      });
      request.on('error', reject);
    });
  });
}
