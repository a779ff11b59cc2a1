// CSV import for admins: upload (POST /api/contacts/import/, multipart), a live progress bar
// while the job runs (polling /api/contacts/import/{id}/), its counters, and its errors file.
import {accessToken, ApiError, downloadFile, events, getJson} from './api.js';
import {formatNumber, formatValue} from './dom.js';

const POLL_MS = 400;
const DONE = new Set(['completed', 'failed']);

// Data rows of a CSV file as the importer counts them (RFC 4180 records after the header,
// blank lines left out), read as a stream: the denominator of the progress bar.
export async function countDataRows(file) {
  const reader = file.stream().pipeThrough(new TextDecoderStream()).getReader();
  let quoted = false;
  let content = false;
  let records = 0;
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c === 34) {
        quoted = !quoted;
        content = true;
      } else if (c === 10 && !quoted) {
        if (content) records++;
        content = false;
      } else if (c !== 13 && c !== 0xfeff) {
        content = true;
      }
    }
  }
  if (content) records++;
  return Math.max(0, records - 1);
}

// POSTs the file with upload progress (fetch reports none); resolves to {job_id}.
function upload(file, token, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/contacts/import/');
    xhr.setRequestHeader('Accept', 'application/json');
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener('load', () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch { /* not JSON */ }
      if (xhr.status === 201 && body && body.job_id) resolve(body);
      else {
        const detail = body && (body.detail || (body.file && body.file.join(' ')));
        reject(new ApiError(xhr.status, detail || `Upload failed (HTTP ${xhr.status})`));
      }
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'The upload failed')));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

export class ImportView {
  constructor() {
    this.form = document.getElementById('import-form');
    this.fileInput = document.getElementById('import-file');
    this.submit = document.getElementById('import-submit');
    this.box = document.getElementById('import-job');
    this.progress = document.getElementById('import-progress');
    this.progressText = document.getElementById('import-progress-text');
    this.errorsButton = document.getElementById('import-errors');
    this.job = null;
    this.expectedRows = null;
    this.timer = null;
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.start();
    });
    this.errorsButton.addEventListener('click', () => this.downloadErrors());
  }

  async start() {
    const file = this.fileInput.files[0];
    if (!file) return;
    clearTimeout(this.timer);
    this.job = null;
    this.expectedRows = null;
    this.submit.disabled = true;
    this.box.hidden = false;
    this.box.dataset.state = 'uploading';
    this.errorsButton.disabled = true;
    this.renderCounters({});
    this.setProgress(0, 'Uploading…');
    countDataRows(file).then((n) => { this.expectedRows = n; }).catch(() => {});
    try {
      const {job_id: id} = await upload(file, await accessToken(), (fraction) =>
        this.setProgress(fraction * 0.1, `Uploading… ${Math.round(fraction * 100)}%`));
      this.box.dataset.jobId = String(id);
      this.box.dataset.state = 'importing';
      await this.poll(id);
    } catch (e) {
      this.box.dataset.state = 'error';
      this.setProgress(0, e.message);
      this.submit.disabled = false;
    }
  }

  async poll(id) {
    let job;
    try {
      job = await getJson(`/api/contacts/import/${id}/`);
    } catch (e) {
      this.box.dataset.state = 'error';
      this.setProgress(this.progress.value, `Job ${id}: ${e.message}`);
      this.submit.disabled = false;
      return;
    }
    this.job = job;
    this.renderCounters(job);
    const processed = job.success_count + job.error_count;
    if (job.status === 'completed') {
      this.setProgress(1, `Completed: ${formatNumber(job.success_count)} imported, ` +
                          `${formatNumber(job.error_count)} failed`);
    } else if (job.status === 'failed') {
      this.setProgress(this.progress.value, `Failed: ${job.message}`);
    } else {
      const expected = Math.max(this.expectedRows || 0, job.total_rows, 1);
      const text = job.status === 'pending' ? 'Queued…' :
        `Importing: ${formatNumber(processed)} of ${this.expectedRows === null ? '?' :
          `~${formatNumber(expected)}`} rows`;
      this.setProgress(0.1 + 0.89 * Math.min(1, processed / expected), text);
    }
    if (DONE.has(job.status)) {
      this.box.dataset.state = job.status;
      this.errorsButton.disabled = !(job.status === 'completed' && job.error_count > 0);
      this.submit.disabled = false;
      if (job.status === 'completed') events.dispatchEvent(new Event('data-changed'));
      return;
    }
    this.timer = setTimeout(() => this.poll(id), POLL_MS);
  }

  setProgress(fraction, text) {
    this.progress.value = fraction;
    this.progressText.textContent = text;
  }

  renderCounters(job) {
    for (const dd of this.box.querySelectorAll('[data-counter]')) {
      const value = job[dd.dataset.counter];
      dd.textContent = dd.dataset.counter === 'id' && value ? String(value) : formatValue(value);
      dd.dataset.value = value === undefined || value === null ? '' : String(value);
    }
  }

  async downloadErrors() {
    if (!this.job) return;
    try {
      await downloadFile(`/api/contacts/import/${this.job.id}/errors/`,
                         `import-${this.job.id}-errors.csv`, 'text/csv');
    } catch (e) {
      this.progressText.textContent = `Errors file: ${e.message}`;
    }
  }
}
