// Every filter of GET /api/contacts/ (the reference's list, contract section 3) and the
// filter builder that edits them.
import {debounce, el} from './dom.js';
import {attachPicker} from './picker.js';

// kind: 'text' (substring, ?key=), 'exact' (equality, ?key=), 'range' (?key_min=&key_max=),
// 'date' (?key_after=&key_before=). picker: the field endpoint offering distinct values.
export const FILTERS = [
  {key: 'first_name', label: 'First name', kind: 'text'},
  {key: 'last_name', label: 'Last name', kind: 'text'},
  {key: 'title', label: 'Title', kind: 'text', picker: 'title'},
  {key: 'company', label: 'Company', kind: 'text', picker: 'company'},
  {key: 'company_name_for_emails', label: 'Company name for e-mails', kind: 'text'},
  {key: 'email', label: 'E-mail', kind: 'text'},
  {key: 'departments', label: 'Departments', kind: 'text'},
  {key: 'work_direct_phone', label: 'Work direct phone', kind: 'text'},
  {key: 'home_phone', label: 'Home phone', kind: 'text'},
  {key: 'mobile_phone', label: 'Mobile phone', kind: 'text'},
  {key: 'corporate_phone', label: 'Corporate phone', kind: 'text'},
  {key: 'other_phone', label: 'Other phone', kind: 'text'},
  {key: 'city', label: 'City', kind: 'text', picker: 'city'},
  {key: 'state', label: 'State', kind: 'text', picker: 'state'},
  {key: 'country', label: 'Country', kind: 'text', picker: 'country'},
  {key: 'technologies', label: 'Technologies', kind: 'text', picker: 'technologies'},
  {key: 'keywords', label: 'Keywords', kind: 'text', picker: 'keywords', separated: true},
  {key: 'person_linkedin_url', label: 'Person LinkedIn URL', kind: 'text'},
  {key: 'website', label: 'Website', kind: 'text'},
  {key: 'company_linkedin_url', label: 'Company LinkedIn URL', kind: 'text'},
  {key: 'facebook_url', label: 'Facebook URL', kind: 'text'},
  {key: 'twitter_url', label: 'Twitter URL', kind: 'text'},
  {key: 'company_address', label: 'Company address', kind: 'text'},
  {key: 'company_city', label: 'Company city', kind: 'text', picker: 'company_city'},
  {key: 'company_state', label: 'Company state', kind: 'text', picker: 'company_state'},
  {key: 'company_country', label: 'Company country', kind: 'text', picker: 'company_country'},
  {key: 'company_phone', label: 'Company phone', kind: 'text'},
  {key: 'industry', label: 'Industry', kind: 'text', picker: 'industry'},
  {key: 'latest_funding', label: 'Latest funding', kind: 'text'},
  {key: 'last_raised_at', label: 'Last raised at', kind: 'text'},
  {key: 'email_status', label: 'E-mail status', kind: 'exact'},
  {key: 'primary_email_catch_all_status', label: 'Catch-all status', kind: 'exact'},
  {key: 'stage', label: 'Stage', kind: 'exact'},
  {key: 'seniority', label: 'Seniority', kind: 'exact'},
  {key: 'employees', label: 'Employees', kind: 'range'},
  {key: 'annual_revenue', label: 'Annual revenue', kind: 'range'},
  {key: 'total_funding', label: 'Total funding', kind: 'range'},
  {key: 'latest_funding_amount', label: 'Latest funding amount', kind: 'range'},
  {key: 'created_at', label: 'Created', kind: 'date'},
  {key: 'updated_at', label: 'Updated', kind: 'date'},
];

const GROUPS = [
  ['text', 'Contains (case-insensitive)'],
  ['exact', 'Equals (case-insensitive)'],
  ['range', 'Number ranges'],
  ['date', 'Date ranges'],
];

// The query parameters of a filter: [[param, input label], ...].
export function filterParams(filter) {
  switch (filter.kind) {
    case 'range': return [[`${filter.key}_min`, 'at least'], [`${filter.key}_max`, 'at most']];
    case 'date': return [[`${filter.key}_after`, 'from'], [`${filter.key}_before`, 'until']];
    default: return [[filter.key, filter.kind === 'exact' ? 'equals' : 'contains']];
  }
}

// Every filter query parameter, in a fixed order.
export const FILTER_PARAMS = FILTERS.flatMap((f) => filterParams(f).map(([param]) => param));

// Edits `values` (a Map param -> value) in place and calls onChange() after each edit.
export class FilterBuilder {
  constructor({container, addSelect, values, onChange}) {
    this.container = container;
    this.addSelect = addSelect;
    this.values = values;
    this.onChange = onChange;
    this.active = new Set();
    this.changed = debounce(() => this.onChange(), 350);
    this.fillAddSelect();
    addSelect.addEventListener('change', () => {
      const filter = FILTERS.find((f) => f.key === addSelect.value);
      addSelect.value = '';
      if (filter) this.add(filter, {focus: true});
    });
    this.sync();
  }

  fillAddSelect() {
    const groups = GROUPS.map(([kind, label]) =>
      el('optgroup', {label}, FILTERS.filter((f) => f.kind === kind)
        .map((f) => el('option', {value: f.key, dataset: {kind: f.kind}}, f.label))));
    this.addSelect.replaceChildren(el('option', {value: ''}, 'Choose a field…'), ...groups);
  }

  // Shows a row for every filter that has a value (after the state changed elsewhere).
  sync() {
    for (const filter of FILTERS) {
      const used = filterParams(filter).some(([param]) => this.values.get(param));
      if (used && !this.active.has(filter.key)) this.add(filter, {focus: false});
    }
    for (const input of this.container.querySelectorAll('input[name]')) {
      input.value = this.values.get(input.name) || '';
    }
  }

  add(filter, {focus}) {
    if (this.active.has(filter.key)) {
      if (focus) this.container.querySelector(`[data-filter="${filter.key}"] input`).focus();
      return;
    }
    this.active.add(filter.key);
    const params = filterParams(filter);
    const inputs = params.map(([param, hint]) => {
      const input = el('input', {
        name: param,
        type: filter.kind === 'range' ? 'number' : filter.kind === 'date' ? 'date' : 'text',
        min: filter.kind === 'range' ? '0' : undefined,
        placeholder: hint,
        'aria-label': `${filter.label} ${hint}`,
        autocomplete: 'off',
      });
      input.value = this.values.get(param) || '';
      input.addEventListener('input', () => this.set(param, input.value));
      input.addEventListener('change', () => this.set(param, input.value, true));
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') this.set(param, input.value, true);
      });
      if (filter.picker) {
        return attachPicker(input, {
          field: filter.picker,
          separated: filter.separated,
          label: filter.label,
          onPick: (value) => this.set(param, value, true),
        });
      }
      return input;
    });
    const remove = el('button', {
      type: 'button', class: 'remove', 'aria-label': `Remove the ${filter.label} filter`,
      onclick: () => this.remove(filter),
    }, '×');
    const row = el('div', {class: `filter filter-${filter.kind}`, dataset: {filter: filter.key}},
      el('div', {class: 'filter-head'}, el('span', {class: 'filter-label'}, filter.label),
         el('span', {class: 'filter-kind'}, params.length === 1 ? params[0][1] : ''), remove),
      el('div', {class: 'filter-inputs'}, inputs));
    this.container.append(row);
    if (focus) row.querySelector('input').focus();
  }

  remove(filter) {
    this.active.delete(filter.key);
    this.container.querySelector(`[data-filter="${filter.key}"]`)?.remove();
    let had = false;
    for (const [param] of filterParams(filter)) {
      had = had || Boolean(this.values.get(param));
      this.values.delete(param);
    }
    if (had) this.changed.flush();
  }

  // Sets a value; `now` applies it at once, else after a pause in typing.
  set(param, value, now = false) {
    const trimmed = value.trim();
    if ((this.values.get(param) || '') === trimmed) {
      if (now && this.changed.pending()) this.changed.flush();
      return;
    }
    if (trimmed) this.values.set(param, trimmed);
    else this.values.delete(param);
    if (now) this.changed.flush();
    else this.changed();
  }

  clear() {
    this.values.clear();
    this.active.clear();
    this.container.replaceChildren();
  }
}
