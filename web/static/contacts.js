// The contacts table: one page of GET /api/contacts/ for the current filters, search and
// ordering, sortable columns, cursor or limit-offset paging, and the count.
import {getJson, sameOriginPath} from './api.js';
import {el, formatNumber, formatValue, showError} from './dom.js';

// `order`: the ordering field of the column (contract section 4).
export const COLUMNS = [
  {key: 'name', label: 'Name', order: 'last_name',
   value: (c) => [c.first_name, c.last_name].filter(Boolean).join(' ')},
  {key: 'title', label: 'Title', order: 'title'},
  {key: 'company', label: 'Company', order: 'company'},
  {key: 'email', label: 'E-mail', order: 'email'},
  {key: 'email_status', label: 'E-mail status', order: 'email_status'},
  {key: 'city', label: 'City', order: 'city'},
  {key: 'country', label: 'Country', order: 'country'},
  {key: 'seniority', label: 'Seniority', order: 'seniority'},
  {key: 'industry', label: 'Industry', order: 'industry'},
  {key: 'stage', label: 'Stage', order: 'stage'},
  {key: 'employees', label: 'Employees', order: 'employees', numeric: true},
  {key: 'annual_revenue', label: 'Revenue', order: 'annual_revenue', numeric: true},
  {key: 'created_at', label: 'Created', order: 'created_at', value: (c) => c.created_at.slice(0, 10)},
];

// Orderings answered with cursor pages when no limit or offset is sent (contract section 4's
// rule); the table sends `page_size` for those and `limit` for any other.
export function usesCursor(ordering) {
  return ordering === '' || ordering === 'created_at' || ordering === '-created_at';
}

// The ordering after a click on a column: field -> -field -> default; with `add` (shift-click)
// the field is added to, flipped in or removed from the existing ordering instead.
export function nextOrdering(ordering, field, add) {
  const terms = ordering ? ordering.split(',') : [];
  const at = terms.findIndex((t) => t.replace(/^-/, '') === field);
  if (!add) {
    if (at !== 0) return field;
    return terms[0] === field ? `-${field}` : '';
  }
  if (at < 0) return [...terms, field].join(',');
  if (!terms[at].startsWith('-')) terms[at] = `-${field}`;
  else terms.splice(at, 1);
  return terms.join(',');
}

export class ContactsView {
  // state: {filters: Map, search, ordering, pageSize}; onOpen(id) opens a contact;
  // onOrdering(ordering) is called when a header click changes the ordering.
  constructor({state, onOpen, onOrdering}) {
    this.state = state;
    this.onOpen = onOpen;
    this.onOrdering = onOrdering;
    this.table = document.getElementById('contacts');
    this.count = null;
    this.countEstimated = false;
    this.page = null;       // the last list response
    this.pageIndex = 0;     // 0-based, for "rows x-y"
    this.request = 0;
    this.countRequest = 0;
    this.controller = null;
    this.selectedId = null;
    document.getElementById('next-page').addEventListener('click', () => this.follow('next'));
    document.getElementById('prev-page').addEventListener('click', () => this.follow('previous'));
    this.renderHead();
  }

  // Query parameters of the current filters and search (what count and export take too).
  filterQuery() {
    const params = new URLSearchParams();
    for (const [name, value] of this.state.filters) params.set(name, value);
    if (this.state.search) params.set('search', this.state.search);
    return params;
  }

  firstPagePath() {
    const params = this.filterQuery();
    if (this.state.ordering) params.set('ordering', this.state.ordering);
    params.set(usesCursor(this.state.ordering) ? 'page_size' : 'limit', String(this.state.pageSize));
    return `/api/contacts/?${params}`;
  }

  // Loads the first page and the count (after a change of filters, search, ordering or size).
  async reload() {
    this.renderHead();
    this.pageIndex = 0;
    const countPath = `/api/contacts/count/?${this.filterQuery()}`;
    const list = this.load(this.firstPagePath());
    this.count = null;
    this.renderCount();
    const countId = ++this.countRequest;
    try {
      const body = await getJson(countPath);
      if (countId !== this.countRequest) return;
      this.count = body.count;
    } catch (e) {
      if (countId !== this.countRequest) return;
      this.count = null;
      this.renderCount('');
      if (e.status !== 401) showError(`Count: ${e.message}`);
      return;
    }
    this.renderCount();
    this.renderPager();
    await list;
  }

  async follow(which) {
    const link = this.page && this.page[which];
    if (!link) return;
    const delta = which === 'next' ? 1 : -1;
    // Cursor pages are counted here; limit-offset pages know their offset (see load()).
    if (await this.load(sameOriginPath(link)) && this.page.meta?.strategy !== 'limit_offset') {
      this.pageIndex = Math.max(0, this.pageIndex + delta);
    }
    this.renderPager();
  }

  // Loads one list page; true when it was shown.
  async load(path) {
    const id = ++this.request;
    this.controller?.abort();
    this.controller = new AbortController();
    this.table.dataset.loading = 'true';
    try {
      const page = await getJson(path, {signal: this.controller.signal});
      if (id !== this.request) return false;
      this.page = page;
      this.countEstimated = page.meta && page.meta.count_mode === 'estimated';
      if (this.count !== null) this.renderCount();
      if (page.meta && page.meta.strategy === 'limit_offset') {
        const params = new URL(path, location.href).searchParams;
        const limit = Number(params.get('limit')) || this.state.pageSize;
        this.pageIndex = Math.floor(Number(params.get('offset') || 0) / limit);
      }
      showError('');
      this.renderRows(page.results);
      this.renderPager();
      this.renderOrdering(page.meta ? page.meta.ordering : '');
      this.table.dataset.query = path.slice(path.indexOf('?') + 1);
      this.table.dataset.status = 'ok';
      this.table.dataset.loading = 'false';
      return true;
    } catch (e) {
      if (e.name === 'AbortError' || id !== this.request) return false;
      this.page = null;
      this.renderRows([], e.status === 401 ? 'Sign in to see the contacts.' :
                          'The contacts could not be loaded.');
      this.renderPager();
      this.table.dataset.query = path.slice(path.indexOf('?') + 1);
      this.table.dataset.status = 'error';
      this.table.dataset.loading = 'false';
      if (e.status !== 401) showError(e.message);
      return false;
    }
  }

  renderHead() {
    const terms = this.state.ordering ? this.state.ordering.split(',') : [];
    const row = this.table.tHead.rows[0];
    row.replaceChildren(...COLUMNS.map((column) => {
      const at = terms.findIndex((t) => t.replace(/^-/, '') === column.order);
      const implicit = terms.length === 0 && column.order === 'created_at';  // -created_at
      const descending = implicit || (at >= 0 && terms[at].startsWith('-'));
      const sorted = implicit || at >= 0;
      const button = el('button', {
        type: 'button', class: 'sort', dataset: {order: column.order},
        title: 'Sort by this column (shift-click: add to the ordering)',
        onclick: (e) => this.onOrdering(nextOrdering(this.state.ordering, column.order, e.shiftKey)),
      }, column.label, el('span', {class: 'sort-mark', 'aria-hidden': 'true'},
        sorted ? (descending ? ' ▼' : ' ▲') : ''), at > 0 ? el('sup', {}, String(at + 1)) : null);
      return el('th', {
        scope: 'col', class: column.numeric ? 'numeric' : undefined, dataset: {column: column.key},
        'aria-sort': sorted && at <= 0 ? (descending ? 'descending' : 'ascending') : undefined,
      }, button);
    }));
  }

  // `empty`: what an empty table says.
  renderRows(contacts, empty = 'No contacts match.') {
    const body = this.table.tBodies[0];
    if (!contacts.length) {
      body.replaceChildren(el('tr', {class: 'empty'},
        el('td', {colspan: String(COLUMNS.length)}, empty)));
      return;
    }
    body.replaceChildren(...contacts.map((contact) => el('tr', {
      dataset: {id: String(contact.id)}, tabindex: '0',
      class: String(contact.id) === String(this.selectedId) ? 'selected' : undefined,
      onclick: () => this.open(contact.id),
      onkeydown: (e) => { if (e.key === 'Enter') this.open(contact.id); },
    }, COLUMNS.map((column) => {
      const text = formatValue(column.value ? column.value(contact) : contact[column.key]);
      return el('td', {class: column.numeric ? 'numeric' : undefined,
                       dataset: {column: column.key}, title: text}, text);
    }))));
  }

  open(id) {
    this.selectedId = id;
    for (const row of this.table.tBodies[0].rows) {
      row.classList.toggle('selected', row.dataset.id === String(id));
    }
    this.onOpen(id);
  }

  // `pending`: the text while there is no count.
  renderCount(pending = 'Counting…') {
    const node = document.getElementById('count');
    if (this.count === null) {
      node.textContent = pending;
      node.dataset.count = '';
      return;
    }
    const noun = this.count === 1 ? 'contact' : 'contacts';
    node.textContent = `${this.countEstimated ? 'About ' : ''}${formatNumber(this.count)} ${noun}`;
    node.dataset.count = String(this.count);
  }

  renderOrdering(effective) {
    const label = document.getElementById('ordering-label');
    const names = (effective || '').split(',').filter(Boolean).map((term) => {
      const field = term.replace(/^-/, '');
      return `${field.replace(/_/g, ' ')} ${term.startsWith('-') ? '↓' : '↑'}`;
    });
    label.textContent = names.length ? `Sorted by ${names.join(', ')}` : '';
  }

  renderPager() {
    const page = this.page;
    document.getElementById('prev-page').disabled = !(page && page.previous);
    document.getElementById('next-page').disabled = !(page && page.next);
    const info = document.getElementById('page-info');
    if (!page || !page.results.length) {
      info.textContent = '';
      return;
    }
    const size = this.state.pageSize;
    const first = this.pageIndex * size + 1;
    const last = first + page.results.length - 1;
    let text = `Rows ${formatNumber(first)}–${formatNumber(last)}`;
    if (this.count !== null) {
      const pages = Math.max(1, Math.ceil(this.count / size));
      text += ` of ${formatNumber(this.count)} · page ${formatNumber(this.pageIndex + 1)} of ` +
              formatNumber(pages);
    }
    info.textContent = text;
    info.dataset.first = String(first);
    info.dataset.last = String(last);
    info.dataset.page = String(this.pageIndex + 1);
  }
}
