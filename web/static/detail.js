// The contact panel: every field of GET /api/contacts/{id}/, grouped.
import {getJson} from './api.js';
import {el, formatValue, safeLink} from './dom.js';

const SECTIONS = [
  ['Person', ['first_name', 'last_name', 'title', 'seniority', 'departments', 'city', 'state',
              'country', 'person_linkedin_url']],
  ['E-mail and phones', ['email', 'email_status', 'primary_email_catch_all_status',
                         'work_direct_phone', 'home_phone', 'mobile_phone', 'corporate_phone',
                         'other_phone']],
  ['Company', ['company', 'company_name_for_emails', 'industry', 'employees', 'annual_revenue',
               'website', 'company_linkedin_url', 'facebook_url', 'twitter_url', 'company_phone',
               'company_address', 'company_city', 'company_state', 'company_country', 'keywords',
               'technologies']],
  ['Funding', ['total_funding', 'latest_funding', 'latest_funding_amount', 'last_raised_at']],
  ['Record', ['id', 'stage', 'created_at', 'updated_at']],
];
const LINKS = new Set(['person_linkedin_url', 'website', 'company_linkedin_url', 'facebook_url',
                       'twitter_url']);

function label(field) {
  const text = field.replace(/_/g, ' ').replace(/\burl\b/, 'URL').replace(/\bemail\b/, 'e-mail')
    .replace(/\blinkedin\b/, 'LinkedIn');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function fieldList(contact, fields) {
  return el('dl', {class: 'fields'}, fields.flatMap((field) => [
    el('dt', {}, label(field)),
    el('dd', {dataset: {field}, class: contact[field] === '' || contact[field] === null ?
      'empty' : undefined}, field === 'id' ? String(contact.id) :
      LINKS.has(field) ? safeLink(contact[field]) : formatValue(contact[field])),
  ]));
}

export class DetailPanel {
  constructor() {
    this.panel = document.getElementById('detail');
    this.body = document.getElementById('detail-body');
    this.request = 0;
    document.getElementById('detail-close').addEventListener('click', () => this.close());
  }

  async open(id) {
    const request = ++this.request;
    this.panel.hidden = false;
    this.panel.dataset.id = String(id);
    this.panel.dataset.loading = 'true';
    this.body.replaceChildren(el('p', {class: 'muted'}, 'Loading…'));
    try {
      const contact = await getJson(`/api/contacts/${encodeURIComponent(id)}/`);
      if (request !== this.request) return;
      this.render(contact);
    } catch (e) {
      if (request !== this.request) return;
      this.body.replaceChildren(el('p', {class: 'form-error'}, e.message));
    }
    this.panel.dataset.loading = 'false';
  }

  render(contact) {
    const name = [contact.first_name, contact.last_name].filter(Boolean).join(' ') ||
                 contact.email || `Contact ${contact.id}`;
    const role = [contact.title, contact.company].filter(Boolean).join(' · ');
    const meta = Object.entries(contact.meta_data || {});
    const content = el('div', {},
      el('h2', {}, name),
      role ? el('p', {class: 'role'}, role) : null,
      SECTIONS.map(([title, fields]) => el('section', {}, el('h3', {}, title),
                                           fieldList(contact, fields))),
      el('section', {}, el('h3', {}, 'Other columns (meta_data)'),
        meta.length ? el('dl', {class: 'fields meta'}, meta.flatMap(([key, value]) => [
          el('dt', {}, key),
          el('dd', {dataset: {meta: key}},
             typeof value === 'string' ? value : JSON.stringify(value)),
        ])) : el('p', {class: 'muted'}, 'None')));
    this.body.replaceChildren(...content.childNodes);
  }

  close() {
    ++this.request;
    this.panel.hidden = true;
    delete this.panel.dataset.id;
  }
}
