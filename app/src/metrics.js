'use strict';
// Minimal Prometheus text exposition (format 0.0.4) without dependencies:
// a request counter labelled by method/status and a latency histogram.

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// Unknown methods are folded into OTHER so clients can't blow up label cardinality.
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

function escapeLabel(value) {
  return String(value).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(n) {
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return Number.isNaN(n) ? 'NaN' : String(n);
}

function labels(obj) {
  const parts = Object.entries(obj).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

class Metrics {
  constructor(buckets = BUCKETS) {
    this.buckets = buckets;
    this.requests = new Map(); // "METHOD status" -> count
    this.bucketCounts = new Array(buckets.length).fill(0); // non-cumulative
    this.sum = 0;
    this.count = 0;
  }

  observe(method, status, seconds) {
    const m = METHODS.has(method) ? method : 'OTHER';
    const key = `${m} ${status}`;
    this.requests.set(key, (this.requests.get(key) || 0) + 1);
    const i = this.buckets.findIndex((b) => seconds <= b);
    if (i >= 0) this.bucketCounts[i]++;
    this.sum += seconds;
    this.count++;
  }

  render({ version = 'dev', revision = 'unknown', uptimeSeconds = 0 } = {}) {
    const out = [
      '# HELP http_requests_total Total HTTP requests by method and status code.',
      '# TYPE http_requests_total counter',
    ];
    for (const key of [...this.requests.keys()].sort()) {
      const [method, status] = key.split(' ');
      out.push(`http_requests_total${labels({ method, status })} ${this.requests.get(key)}`);
    }

    out.push(
      '# HELP http_request_duration_seconds HTTP request duration in seconds.',
      '# TYPE http_request_duration_seconds histogram',
    );
    let cumulative = 0; // buckets are cumulative in the exposition format
    this.buckets.forEach((le, i) => {
      cumulative += this.bucketCounts[i];
      out.push(`http_request_duration_seconds_bucket${labels({ le: formatValue(le) })} ${cumulative}`);
    });
    out.push(
      `http_request_duration_seconds_bucket{le="+Inf"} ${this.count}`,
      `http_request_duration_seconds_sum ${formatValue(this.sum)}`,
      `http_request_duration_seconds_count ${this.count}`,
      '# HELP app_info Build information; always 1.',
      '# TYPE app_info gauge',
      `app_info${labels({ version, revision })} 1`,
      '# HELP app_uptime_seconds Seconds since the server started.',
      '# TYPE app_uptime_seconds gauge',
      `app_uptime_seconds ${formatValue(uptimeSeconds)}`,
    );
    return out.join('\n') + '\n';
  }
}

module.exports = { Metrics, BUCKETS, CONTENT_TYPE, escapeLabel, formatValue };
