// Talking to the API: JSON reads, the signed-in session (JWT pair in sessionStorage) and its
// refresh, and the events the views listen to.

const SESSION_KEY = 'contacts-console.session';

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

// 'session': signed in or out. 'auth-required': a read answered 401 (CONTACTS_READS_REQUIRE_AUTH).
// 'data-changed': an import completed, so every view reloads.
export const events = new EventTarget();

function decodeClaims(token) {
  const part = token.split('.')[1] || '';
  const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(base64 + '='.repeat((4 - base64.length % 4) % 4)),
                                (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function loadSession() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(SESSION_KEY));
    return stored && stored.access && stored.refresh ? stored : null;
  } catch {
    return null;
  }
}

let session = loadSession();
let refreshing = null;

function setSession(tokens) {
  const before = session;
  session = tokens;
  if (tokens) sessionStorage.setItem(SESSION_KEY, JSON.stringify(tokens));
  else sessionStorage.removeItem(SESSION_KEY);
  if (Boolean(before) !== Boolean(tokens) || (before && tokens && before.refresh !== tokens.refresh)) {
    events.dispatchEvent(new Event('session'));
  }
}

// {username, is_staff, exp, ...} of the signed-in user, or null.
export function currentUser() {
  if (!session) return null;
  try {
    return decodeClaims(session.refresh);
  } catch {
    return null;
  }
}

async function postJson(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: {'Content-Type': 'application/json', Accept: 'application/json'},
    body: JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, json.detail || `HTTP ${response.status}`);
  return json;
}

export async function signIn(username, password) {
  const tokens = await postJson('/api/auth/token/', {username, password});
  setSession({access: tokens.access, refresh: tokens.refresh});
}

export function signOut() {
  setSession(null);
}

// A new access token from the refresh token (one request at a time); false when the session
// is over (then it is dropped).
function refreshAccess() {
  if (!session) return Promise.resolve(false);
  if (!refreshing) {
    const refresh = session.refresh;
    refreshing = postJson('/api/auth/token/refresh/', {refresh})
      .then((body) => {
        if (session && session.refresh === refresh) setSession({access: body.access, refresh});
        return true;
      })
      .catch(() => {
        if (session && session.refresh === refresh) setSession(null);
        return false;
      })
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

// The access token to send, refreshed first when it expires within 30 s; null when signed out.
export async function accessToken() {
  if (!session) return null;
  let expires = 0;
  try {
    expires = decodeClaims(session.access).exp * 1000;
  } catch { /* refresh below */ }
  if (expires - Date.now() < 30_000) await refreshAccess();
  return session ? session.access : null;
}

// fetch() with the session's Bearer token; a 401 is retried once after a token refresh.
export async function apiFetch(path, options = {}) {
  const send = async () => {
    const headers = new Headers(options.headers);
    if (!headers.has('Accept')) headers.set('Accept', 'application/json');
    const token = await accessToken();
    if (token) headers.set('Authorization', `Bearer ${token}`);
    return fetch(path, {...options, headers});
  };
  let response = await send();
  if (response.status === 401 && session && await refreshAccess()) response = await send();
  return response;
}

// The JSON body of a successful GET; throws ApiError with the API's detail otherwise.
export async function getJson(path, {signal} = {}) {
  const response = await apiFetch(path, {signal});
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = body && typeof body.detail === 'string' ? body.detail : `HTTP ${response.status}`;
    if (response.status === 401) {
      events.dispatchEvent(new CustomEvent('auth-required', {detail}));
    }
    throw new ApiError(response.status, detail);
  }
  return body;
}

// Saves a response body as a file named `filename` (the download goes through fetch so that
// it can carry the Bearer token).
export async function downloadFile(path, filename, accept) {
  const response = await apiFetch(path, {headers: {Accept: accept}});
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new ApiError(response.status, (body && body.detail) || `HTTP ${response.status}`);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// A path of this origin for an absolute `next`/`previous` link of the API (its host may be
// the server's own view of itself, not the one the browser uses).
export function sameOriginPath(link) {
  const url = new URL(link, location.href);
  return url.pathname + url.search;
}
