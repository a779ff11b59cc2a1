// Charts of GET /api/contacts/analytics/: top countries and top industries (Chart.js, loaded
// by index.html as window.Chart).
import {getJson} from './api.js';
import {formatNumber, showError} from './dom.js';

const COLORS = {countries: '#2f6fb2', industries: '#c26a1b'};

export class AnalyticsView {
  // onPick(filterParam, value): a bar was clicked.
  constructor({onPick}) {
    this.onPick = onPick;
    this.limitSelect = document.getElementById('analytics-limit');
    this.charts = {};
    this.loaded = false;
    this.request = 0;
    this.limitSelect.addEventListener('change', () => this.load());
  }

  // Loads once, and again after invalidate().
  show() {
    if (!this.loaded) this.load();
  }

  invalidate() {
    this.loaded = false;
  }

  async load() {
    const request = ++this.request;
    this.loaded = true;
    const view = document.getElementById('analytics-view');
    view.dataset.loading = 'true';
    try {
      const limit = this.limitSelect.value;
      const data = await getJson(`/api/contacts/analytics/?limit=${encodeURIComponent(limit)}`);
      if (request !== this.request) return;
      document.getElementById('analytics-total').textContent =
        `${formatNumber(data.total_contacts)} contacts`;
      document.getElementById('analytics-total').dataset.total = String(data.total_contacts);
      document.getElementById('analytics-source').textContent =
        `source: ${data.source}, generated ${data.generated_at}`;
      this.draw('countries', 'country', data.top_countries);
      this.draw('industries', 'industry', data.top_industries);
      view.dataset.limit = limit;
      view.dataset.loading = 'false';
    } catch (e) {
      if (request !== this.request) return;
      this.loaded = false;
      view.dataset.loading = 'false';
      if (e.status !== 401) showError(`Analytics: ${e.message}`);
    }
  }

  draw(name, field, rows) {
    const canvas = document.getElementById(`chart-${name}`);
    canvas.parentElement.style.height = `${Math.max(120, rows.length * 26 + 40)}px`;
    const labels = rows.map((row) => row[field]);
    const values = rows.map((row) => row.total);
    const existing = this.charts[name];
    if (existing) {
      existing.data.labels = labels;
      existing.data.datasets[0].data = values;
      existing.update();
      return;
    }
    this.charts[name] = new window.Chart(canvas, {
      type: 'bar',
      data: {labels, datasets: [{label: 'Contacts', data: values, backgroundColor: COLORS[name]}]},
      options: {
        indexAxis: 'y',
        animation: false,
        maintainAspectRatio: false,
        plugins: {legend: {display: false}},
        scales: {x: {beginAtZero: true, ticks: {precision: 0}}},
        onClick: (_event, elements, chart) => {
          if (elements.length) this.onPick(field, chart.data.labels[elements[0].index]);
        },
        onHover: (event, elements) => {
          event.native.target.style.cursor = elements.length ? 'pointer' : 'default';
        },
      },
    });
  }
}
