// The console: state in the page's query string (shareable views), tabs, session, wiring.
import {ApiError, currentUser, downloadFile, events, signIn, signOut} from './api.js';
import {AnalyticsView} from './charts.js';
import {ContactsView} from './contacts.js';
import {DetailPanel} from './detail.js';
import {debounce, showError} from './dom.js';
import {FILTER_PARAMS, FilterBuilder} from './filters.js';
import {ImportView} from './imports.js';

const PAGE_SIZES = ['25', '50', '100'];

function readState() {
  const query = new URLSearchParams(location.search);
  const filters = new Map();
  for (const param of FILTER_PARAMS) {
    const value = (query.get(param) || '').trim();
    if (value) filters.set(param, value);
  }
  const size = query.get('page_size');
  return {
    filters,
    search: (query.get('search') || '').trim(),
    ordering: (query.get('ordering') || '').trim(),
    pageSize: Number(PAGE_SIZES.includes(size) ? size : PAGE_SIZES[0]),
  };
}

const state = readState();
let readsNeedSignIn = false;

function writeState() {
  const query = new URLSearchParams();
  for (const param of FILTER_PARAMS) {
    if (state.filters.get(param)) query.set(param, state.filters.get(param));
  }
  if (state.search) query.set('search', state.search);
  if (state.ordering) query.set('ordering', state.ordering);
  if (state.pageSize !== Number(PAGE_SIZES[0])) query.set('page_size', String(state.pageSize));
  const search = query.toString();
  history.replaceState(null, '', `${location.pathname}${search ? `?${search}` : ''}${location.hash}`);
}

// The export of everything the table shows: same filters, search and ordering.
function updateExportLink() {
  const params = contacts.filterQuery();
  if (state.ordering) params.set('ordering', state.ordering);
  const query = params.toString();
  document.getElementById('export-link').href = `/api/contacts/export/${query ? `?${query}` : ''}`;
}

function changed() {
  writeState();
  updateExportLink();
  contacts.reload();
}

const detail = new DetailPanel();
const contacts = new ContactsView({
  state,
  onOpen: (id) => detail.open(id),
  onOrdering: (ordering) => {
    state.ordering = ordering;
    changed();
  },
});
const builder = new FilterBuilder({
  container: document.getElementById('active-filters'),
  addSelect: document.getElementById('add-filter'),
  values: state.filters,
  onChange: changed,
});
const analytics = new AnalyticsView({
  onPick: (param, value) => {
    state.filters.set(param, value);
    builder.sync();
    location.hash = '#contacts';
    changed();
  },
});
const imports = new ImportView();

// --- search, page size, clearing ---
const searchInput = document.getElementById('search');
searchInput.value = state.search;
const applySearch = debounce(() => {
  const value = searchInput.value.trim();
  if (value === state.search) return;
  state.search = value;
  changed();
}, 350);
searchInput.addEventListener('input', () => applySearch());
document.getElementById('search-form').addEventListener('submit', (e) => {
  e.preventDefault();
  applySearch.flush();
});
const pageSize = document.getElementById('page-size');
pageSize.value = String(state.pageSize);
pageSize.addEventListener('change', () => {
  state.pageSize = Number(pageSize.value);
  changed();
});
document.getElementById('clear-filters').addEventListener('click', () => {
  builder.clear();
  state.search = '';
  searchInput.value = '';
  changed();
});

// --- export: a plain link, or a download with the token when reads need one ---
document.getElementById('export-link').addEventListener('click', (e) => {
  if (!readsNeedSignIn || !currentUser()) return;
  e.preventDefault();
  downloadFile(e.currentTarget.getAttribute('href'), 'contacts.csv', 'text/csv')
    .catch((error) => showError(`Export: ${error.message}`));
});

// --- tabs ---
function showTab() {
  let tab = location.hash.slice(1) || 'contacts';
  const user = currentUser();
  if (tab === 'import' && !(user && user.is_staff)) tab = 'contacts';
  for (const view of document.querySelectorAll('.view')) view.hidden = view.dataset.view !== tab;
  for (const link of document.querySelectorAll('.tabs a')) {
    link.setAttribute('aria-current', link.dataset.tab === tab ? 'page' : 'false');
  }
  if (tab === 'analytics') analytics.show();
}
window.addEventListener('hashchange', showTab);

// --- session ---
const dialog = document.getElementById('sign-in-dialog');
const signInForm = document.getElementById('sign-in-form');
const signInError = document.getElementById('sign-in-error');

function openSignIn(reason) {
  const reasonNode = document.getElementById('sign-in-reason');
  reasonNode.textContent = reason || '';
  reasonNode.hidden = !reason;
  signInError.hidden = true;
  if (!dialog.open) dialog.showModal();
  signInForm.elements.username.focus();
}

signInForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  const submit = document.getElementById('sign-in-submit');
  submit.disabled = true;
  try {
    await signIn(signInForm.elements.username.value, signInForm.elements.password.value);
    signInForm.reset();
    dialog.close();
  } catch (error) {
    signInError.textContent = error instanceof ApiError && error.status === 401 ?
      error.message : `Sign-in failed: ${error.message}`;
    signInError.hidden = false;
  } finally {
    submit.disabled = false;
  }
});
document.getElementById('sign-in-cancel').addEventListener('click', () => dialog.close());
document.getElementById('sign-in-button').addEventListener('click', () => openSignIn(''));
document.getElementById('sign-out-button').addEventListener('click', () => signOut());

function renderSession() {
  const user = currentUser();
  const status = document.getElementById('user-status');
  status.textContent = user ? `${user.username}${user.is_staff ? ' (admin)' : ''}` : '';
  status.dataset.username = user ? user.username : '';
  document.getElementById('sign-in-button').hidden = Boolean(user);
  document.getElementById('sign-out-button').hidden = !user;
  document.getElementById('import-tab').hidden = !(user && user.is_staff);
  showTab();
}

events.addEventListener('session', () => {
  renderSession();
  if (readsNeedSignIn) {
    analytics.invalidate();
    contacts.reload();
    showTab();
  }
});
events.addEventListener('auth-required', (e) => {
  readsNeedSignIn = true;
  showError('');
  openSignIn(currentUser() ? e.detail :
    'This server needs a signed-in user for reading contacts. Please sign in.');
});
events.addEventListener('data-changed', () => {
  analytics.invalidate();
  contacts.reload();
});

renderSession();
updateExportLink();
contacts.reload();
