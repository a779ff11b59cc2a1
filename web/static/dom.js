// DOM and formatting helpers. Values from the API only ever reach the page as text nodes.

// <tag attrs...>children</tag>; attributes starting with "on" are listeners, `dataset` an object.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : value);
  }
  node.append(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
  return node;
}

const integer = new Intl.NumberFormat('en-US');

export function formatNumber(n) {
  return integer.format(n);
}

// The text a field shows: "—" for "" and null, grouped digits for numbers.
export function formatValue(value) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'number') return formatNumber(value);
  return String(value);
}

// A link only for http(s) URLs; anything else (javascript:, data:, ...) stays text.
export function safeLink(value) {
  const text = formatValue(value);
  if (typeof value === 'string' && /^https?:\/\//i.test(value)) {
    return el('a', {href: value, target: '_blank', rel: 'noopener noreferrer'}, text);
  }
  return document.createTextNode(text);
}

// Calls `fn` once no call came for `ms` milliseconds.
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn(...args);
    }, ms);
  };
  // Calls `fn` now (instead of later, when a call is pending).
  wrapped.flush = (...args) => {
    clearTimeout(timer);
    timer = null;
    fn(...args);
  };
  wrapped.pending = () => timer !== null;
  return wrapped;
}

export function showError(message) {
  const banner = document.getElementById('error');
  banner.textContent = message;
  banner.hidden = !message;
}
