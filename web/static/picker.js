// A distinct-value picker on a text input: a list of the values a field endpoint
// (/api/contacts/{field}/?distinct=true) offers, narrowed by what is typed.
import {ApiError, getJson} from './api.js';
import {debounce, el} from './dom.js';

const PAGE = 20;

function valuesPath(field, separated, search, offset) {
  const params = new URLSearchParams({distinct: 'true', limit: String(PAGE)});
  if (separated) params.set('separated', 'true');
  if (search) params.set('search', search);
  if (offset) params.set('offset', String(offset));
  return `/api/contacts/${field}/?${params}`;
}

// Wraps `input`; returns the wrapper to put in its place. onPick(value) runs on a choice.
export function attachPicker(input, {field, separated, label, onPick}) {
  const list = el('ul', {class: 'picker-list', role: 'listbox', dataset: {field}, hidden: true,
                         'aria-label': `Values of ${label}`});
  const toggle = el('button', {type: 'button', class: 'picker-toggle',
                               'aria-label': `Show the values of ${label}`}, '▾');
  const wrapper = el('div', {class: 'picker'}, input, toggle, list);
  let request = 0;
  let controller = null;

  const option = (value) => el('li', {role: 'option'},
    el('button', {type: 'button', class: 'picker-option', dataset: {value},
                  onclick: () => choose(value)}, value));

  async function load(offset = 0) {
    if (list.hidden) return;
    const id = ++request;
    controller?.abort();
    controller = new AbortController();
    list.dataset.loading = 'true';
    try {
      const page = await getJson(valuesPath(field, separated, input.value.trim(), offset),
                                 {signal: controller.signal});
      if (id !== request) return;
      if (offset === 0) list.replaceChildren();
      list.querySelector('.picker-more')?.remove();
      list.append(...page.results.map((row) => option(row[field])));
      if (!list.children.length) list.append(el('li', {class: 'picker-empty'}, 'No values'));
      if (page.next) {
        list.append(el('li', {class: 'picker-more'}, el('button', {
          type: 'button', onclick: () => load(offset + page.results.length),
        }, 'More…')));
      }
      list.dataset.search = input.value.trim();
      list.dataset.loading = 'false';
    } catch (e) {
      if (e.name === 'AbortError' || id !== request) return;
      list.replaceChildren(el('li', {class: 'picker-empty'},
        e instanceof ApiError ? e.message : 'The values could not be loaded'));
      list.dataset.loading = 'false';
    }
  }
  const reload = debounce(() => load(0), 200);

  function open() {
    if (!list.hidden) return;
    list.hidden = false;
    load(0);
  }
  function close() {
    list.hidden = true;
    ++request;
  }
  function choose(value) {
    input.value = value;
    list.hidden = true;
    onPick(value);
  }

  toggle.addEventListener('click', () => (list.hidden ? open() : close()));
  input.addEventListener('input', () => {
    if (list.hidden) open();
    else reload();
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') close();
    if (e.key === 'ArrowDown' && !list.hidden) {
      e.preventDefault();
      list.querySelector('button')?.focus();
    }
  });
  list.addEventListener('keydown', (e) => {
    const buttons = [...list.querySelectorAll('button')];
    const i = buttons.indexOf(document.activeElement);
    if (e.key === 'ArrowDown' && i < buttons.length - 1) buttons[i + 1].focus();
    else if (e.key === 'ArrowUp') (i > 0 ? buttons[i - 1] : input).focus();
    else if (e.key === 'Escape') {
      close();
      input.focus();
    } else return;
    e.preventDefault();
  });
  wrapper.addEventListener('focusout', (e) => {
    if (!wrapper.contains(e.relatedTarget)) close();
  });
  return wrapper;
}
