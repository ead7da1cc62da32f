/**
 * The pages, rendered on the server from what the store and the runner return. Every page works without
 * JavaScript; `assets/dashboard.js` only adds live validation, live lists and the log stream.
 */
import type {
  AgentRecord,
  ConfigIssue,
  JobSnapshot,
  QueueDefinition,
  QueueItem,
  QueueItemOutcome,
} from '@vertex-launch/core';
import { html, type SafeHtml } from './html.js';
import type { DashboardCheck } from './options.js';

/** Item counts of one queue, by state and (for finished items) outcome. */
export interface QueueCounts {
  queued: number;
  claimed: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  /** True when there were more finished items than were counted. */
  capped: boolean;
}

const shortId = (id: string) => id.slice(0, 8);

function time(iso: string | undefined): SafeHtml {
  if (!iso) return html`-`;
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')}Z</time>`;
}

/** A page around `body`. */
export function layout(title: string, body: SafeHtml, storeLabel: string | undefined, current = ''): SafeHtml {
  const link = (href: string, text: string) =>
    html`<a href="${href}"${current === href ? html` aria-current="page"` : ''}>${text}</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · Vertex Launch</title>
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body>
<header class="top">
<a class="brand" href="/">Vertex Launch</a>
<nav>${link('/', 'Queues')}${link('/agents', 'Agents')}${link('/doctor', 'Doctor')}</nav>
${storeLabel ? html`<span class="store" title="queue store">${storeLabel}</span>` : ''}
</header>
<main>
${body}
</main>
</body>
</html>
`;
}

/** A badge for an item state or outcome. */
function badge(text: string, kind: string = text): SafeHtml {
  return html`<span class="badge badge-${kind.toLowerCase()}">${text}</span>`;
}

function itemBadge(item: QueueItem): SafeHtml {
  if (item.state !== 'finished') {
    const text = item.cancelRequested ? `${item.state} · cancelling` : item.state;
    return badge(text, item.state);
  }
  return badge((item.status ?? item.outcome ?? 'finished').toUpperCase(), item.outcome as QueueItemOutcome);
}

/**
 * The failure class of an item, when its failure has one (`failure.class`, issue 20). Read leniently: stores that
 * do not record classes yet give `undefined`, and the page shows the failure phase alone.
 */
export function failureClass(item: QueueItem): string | undefined {
  const value = (item.failure as { class?: unknown } | undefined)?.class;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function failureCell(item: QueueItem): SafeHtml {
  if (!item.failure) return html``;
  const cls = failureClass(item);
  return html`<span class="failure" title="${item.failure.message}">${cls ? html`<code class="failure-class">${cls}</code> ` : ''}${item.failure.phase}</span>`;
}

/** `Queues` page. */
export function queuesPage(queues: readonly { queue: QueueDefinition; counts: QueueCounts }[]): SafeHtml {
  const rows = queues.map(
    ({ queue, counts }) => html`<tr>
<td><a href="/queues/${encodeURIComponent(queue.name)}">${queue.name}</a>${queue.description ? html`<div class="muted">${queue.description}</div>` : ''}</td>
<td>${queue.resource === 'gcp-vertex' ? 'GCP Vertex' : queue.resource}</td>
<td>${queue.project ?? html`<span class="muted">agent's</span>`}</td>
<td>${queue.region ?? html`<span class="muted">agent's</span>`}</td>
<td class="num" data-count="queued">${counts.queued}</td>
<td class="num" data-count="claimed">${counts.claimed}</td>
<td class="num" data-count="succeeded">${counts.succeeded}${counts.capped ? '+' : ''}</td>
<td class="num" data-count="failed">${counts.failed}${counts.capped ? '+' : ''}</td>
<td class="num" data-count="cancelled">${counts.cancelled}${counts.capped ? '+' : ''}</td>
<td>${time(queue.updatedAt)}</td>
</tr>`,
  );
  return html`<div class="heading"><h1>Queues</h1><a class="button" href="/queues/new">Create queue</a></div>
<section id="queues" data-live>
${
  queues.length === 0
    ? html`<p class="empty">No queues yet. <a href="/queues/new">Create one</a> from the default queue config.</p>`
    : html`<table>
<thead><tr><th>Name</th><th>Resource</th><th>Project</th><th>Region</th><th class="num">Queued</th><th class="num">Running</th><th class="num">Succeeded</th><th class="num">Failed</th><th class="num">Cancelled</th><th>Updated</th></tr></thead>
<tbody>${rows}</tbody>
</table>`
}
</section>`;
}

/** The list of validation problems under the editor (also rendered by the script from `/api/validate`). */
export function issuesList(issues: readonly ConfigIssue[]): SafeHtml {
  if (issues.length === 0) return html`<p class="valid">✓ The queue config is valid.</p>`;
  const errors = issues.filter((issue) => issue.severity === 'error').length;
  const warnings = issues.length - errors;
  return html`<p class="${errors > 0 ? 'invalid' : 'valid'}">${errors > 0 ? `✗ ${errors} problem${errors === 1 ? '' : 's'}` : '✓ Valid'}${warnings > 0 ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}</p>
<ul class="issues">${issues.map(
    (issue) =>
      html`<li class="issue-${issue.severity}"><code>${issue.path || '(top level)'}</code> ${issue.severity === 'warning' ? html`<strong>warning:</strong> ` : ''}${issue.message}</li>`,
  )}</ul>`;
}

/** What the queue form holds. */
export interface QueueFormValues {
  name: string;
  project: string;
  region: string;
  description: string;
  config: string;
}

/** `Create queue` and `Edit queue` pages. */
export function queueFormPage(
  mode: 'create' | 'edit',
  values: QueueFormValues,
  configIssues: readonly ConfigIssue[],
  fieldIssues: readonly ConfigIssue[],
  message?: string,
): SafeHtml {
  const action = mode === 'create' ? '/queues' : `/queues/${encodeURIComponent(values.name)}`;
  const field = (name: keyof QueueFormValues, label: string, hint: string, extra: SafeHtml = html``) => {
    const problems = fieldIssues.filter((issue) => issue.path === name);
    return html`<label>${label}
<input name="${name}" value="${values[name]}" ${extra}${problems.length > 0 ? html` aria-invalid="true"` : ''}>
<small>${hint}</small>
${problems.map((issue) => html`<span class="field-error">${issue.message}</span>`)}
</label>`;
  };
  return html`<h1>${mode === 'create' ? 'Create queue' : html`Edit queue <code>${values.name}</code>`}</h1>
${message ? html`<p class="alert" role="alert">${message}</p>` : ''}
<form method="post" action="${action}" class="queue-form">
<div class="fields">
${mode === 'create' ? field('name', 'Name', 'lowercase letters, digits, - and _', html`required autocomplete="off"`) : html`<input type="hidden" name="name" value="${values.name}">`}
<label>Resource
<select name="resource" disabled><option value="gcp-vertex" selected>GCP Vertex</option></select>
<small>Vertex AI CustomJobs</small>
</label>
${field('project', 'Project', "GCP project of its launches (empty: the agent's environment.project)")}
${field('region', 'Region', "e.g. us-central1 (empty: the agent's environment.region)")}
${field('description', 'Description', 'shown in the queue list')}
</div>
<label for="config">Configuration <small>YAML, checked against the queue config schema as you type</small></label>
<div class="editor">
<textarea id="config" name="config" rows="24" spellcheck="false" autocapitalize="off" autocomplete="off" data-validate="/api/validate">${values.config}</textarea>
<div id="issues" class="issues-panel" aria-live="polite">${issuesList(configIssues)}</div>
</div>
<button type="submit">${mode === 'create' ? 'Create queue' : 'Save queue'}</button>
</form>`;
}

/** What the enqueue form holds. */
export interface EnqueueValues {
  image: string;
  variables: string;
  runId: string;
}

/** A queue's page: its settings, the enqueue form and its items. */
export function queuePage(
  queue: QueueDefinition,
  items: readonly QueueItem[],
  consoleUrl: (jobName: string) => string,
  enqueue: { values: EnqueueValues; issues: readonly ConfigIssue[]; message?: string } | undefined,
): SafeHtml {
  const values = enqueue?.values ?? { image: '', variables: '', runId: '' };
  const variables = Object.entries(
    ((queue.config as { template_variables?: Record<string, { default?: unknown }> }).template_variables ??
      {}) as Record<string, { default?: unknown }>,
  );
  return html`<div class="heading"><h1>Queue <code>${queue.name}</code></h1><a class="button secondary" href="/queues/${encodeURIComponent(queue.name)}/edit">Edit queue</a></div>
<p class="muted">${queue.description ?? ''} · project ${queue.project ?? "from the agent's environment"} · region ${queue.region ?? "from the agent's environment"}</p>
<details class="enqueue"${enqueue ? html` open` : ''}>
<summary>Enqueue a launch</summary>
${enqueue?.message ? html`<p class="alert" role="alert">${enqueue.message}</p>` : ''}
${enqueue && enqueue.issues.length > 0 ? issuesList(enqueue.issues) : ''}
<form method="post" action="/queues/${encodeURIComponent(queue.name)}/items" class="enqueue-form">
<label>Image <input name="image" value="${values.image}" placeholder="us-docker.pkg.dev/project/repo/image:tag" required><small>the container for \${image_uri}</small></label>
<label>Template variables <textarea name="variables" rows="3" spellcheck="false" placeholder="name=value, one a line">${values.variables}</textarea><small>${variables.length > 0 ? `this queue has: ${variables.map(([name, decl]) => (decl?.default === undefined ? name : `${name} (default ${String(decl.default)})`)).join(', ')}` : 'this queue declares none'}</small></label>
<label>Run id <input name="runId" value="${values.runId}" placeholder="generated"><small>optional</small></label>
<button type="submit">Enqueue</button>
</form>
</details>
<h2>Items</h2>
<section id="items" data-live>
${items.length === 0 ? html`<p class="empty">No launches yet.</p>` : itemsTable(items, consoleUrl)}
</section>`;
}

function itemsTable(items: readonly QueueItem[], consoleUrl: (jobName: string) => string): SafeHtml {
  return html`<table class="items">
<thead><tr><th>Item</th><th>Run</th><th>State</th><th>Phase</th><th>Failure</th><th>Job</th><th class="num">Attempts</th><th>Enqueued</th></tr></thead>
<tbody>${items.map(
    (item) => html`<tr data-item="${item.id}">
<td><a href="/items/${item.id}">${shortId(item.id)}</a></td>
<td>${item.runId}</td>
<td>${itemBadge(item)}</td>
<td>${item.phase ?? '-'}</td>
<td>${failureCell(item)}</td>
<td>${item.jobName ? html`<a href="${consoleUrl(item.jobName)}" target="_blank" rel="noopener noreferrer" class="job-link">${item.jobName.split('/').at(-1)}</a>` : '-'}</td>
<td class="num">${item.attempts}</td>
<td>${time(item.enqueuedAt)}</td>
</tr>`,
  )}</tbody>
</table>`;
}

/** The live part of an item page (sent again over SSE whenever the item changes). */
export function itemLive(
  item: QueueItem,
  job: { snapshot?: JobSnapshot; error?: string } | undefined,
  consoleUrl: string | undefined,
): SafeHtml {
  const cancellable = item.state !== 'finished' && !item.cancelRequested;
  const snapshot = job?.snapshot;
  return html`<dl class="facts">
<dt>State</dt><dd data-state="${item.state}" data-status="${item.status ?? ''}">${itemBadge(item)}</dd>
<dt>Phase</dt><dd>${item.phase ?? '-'}</dd>
<dt>Attempts</dt><dd>${item.attempts}</dd>
<dt>Agent</dt><dd>${item.agentId ?? '-'}</dd>
<dt>Image</dt><dd><code>${item.imageUri ?? item.request.image ?? item.request.source ?? '-'}</code></dd>
<dt>Job</dt><dd>${item.jobName ? html`<code>${item.jobName}</code>${consoleUrl ? html` · <a href="${consoleUrl}" target="_blank" rel="noopener noreferrer" class="job-link">open in the Google Cloud console</a>` : ''}` : '-'}</dd>
${snapshot ? html`<dt>Vertex state</dt><dd data-job-state="${snapshot.state}">${snapshot.state.replace(/^JOB_STATE_/, '')}${snapshot.startTime ? html` · started ${time(snapshot.startTime.toISOString())}` : ''}${snapshot.endTime ? html` · ended ${time(snapshot.endTime.toISOString())}` : ''}</dd>` : ''}
${snapshot?.error ? html`<dt>Job error</dt><dd class="failure">${snapshot.error.message} (code ${snapshot.error.code})</dd>` : ''}
${job?.error ? html`<dt>Job</dt><dd class="muted">could not read the job: ${job.error}</dd>` : ''}
${item.failure ? html`<dt>Failure</dt><dd class="failure">${failureClass(item) ? html`<code class="failure-class">${failureClass(item)}</code> ` : ''}${item.failure.phase}: ${item.failure.message}</dd>` : ''}
</dl>
${
  cancellable
    ? html`<form method="post" action="/items/${item.id}/cancel" class="cancel-form"><button type="submit" class="danger">Cancel launch</button></form>`
    : item.cancelRequested && item.state !== 'finished'
      ? html`<p class="muted">Cancel requested: the agent cancels the job.</p>`
      : ''
}
<h2>State history</h2>
<table class="history">
<thead><tr><th>Time</th><th>Event</th><th>Phase</th><th>Agent</th><th>Message</th></tr></thead>
<tbody>${item.events.map(
    (event) =>
      html`<tr><td>${time(event.at)}</td><td>${event.type}</td><td>${event.phase ?? ''}</td><td>${event.agentId ?? ''}</td><td>${event.message}</td></tr>`,
  )}</tbody>
</table>`;
}

/** An item (launch) page: the live facts, the CustomJob request and the log stream. */
export function itemPage(item: QueueItem, live: SafeHtml, request: { json?: string; note: string }): SafeHtml {
  return html`<p class="crumbs"><a href="/queues/${encodeURIComponent(item.queue)}">${item.queue}</a> / item</p>
<h1>Launch <code>${item.runId}</code> <small class="muted">${item.id}</small></h1>
<section id="item-live">${live}</section>
<h2>Logs</h2>
<pre id="logs" class="logs" data-stream="/items/${item.id}/events">${item.jobName ? '' : 'Waiting for the job to start…'}</pre>
<h2>CustomJob request</h2>
<p class="muted">${request.note}</p>
${request.json ? html`<pre class="request">${request.json}</pre>` : ''}`;
}

/** `Agents` page. */
export function agentsPage(agents: readonly AgentRecord[], now: number): SafeHtml {
  const rows = agents.map((agent) => {
    const age = now - Date.parse(agent.heartbeatAt);
    const lost = agent.state !== 'stopped' && age > agent.heartbeatIntervalMs * 3;
    const state = lost ? 'not heard from' : agent.state;
    return html`<tr data-agent="${agent.agentId}">
<td><code>${agent.agentId}</code></td>
<td>${agent.host}${agent.pid === undefined ? '' : html` <span class="muted">pid ${agent.pid}</span>`}</td>
<td>${agent.queues.join(', ')}</td>
<td class="num">${agent.maxJobs === -1 ? 'no limit' : agent.maxJobs}</td>
<td class="num">${agent.active}</td>
<td>${badge(state, lost ? 'lost' : agent.state)}</td>
<td>${time(agent.heartbeatAt)} <span class="muted">(${Math.max(0, Math.round(age / 1000))} s ago)</span></td>
<td>${time(agent.startedAt)}</td>
</tr>`;
  });
  return html`<h1>Agents</h1>
<section id="agents" data-live>
${
  agents.length === 0
    ? html`<p class="empty">No agent has reported to this queue store in the last 7 days. Start one with <code>vertex-launch agent</code>.</p>`
    : html`<table>
<thead><tr><th>Id</th><th>Host</th><th>Queues</th><th class="num">max_jobs</th><th class="num">Active</th><th>State</th><th>Heartbeat</th><th>Started</th></tr></thead>
<tbody>${rows}</tbody>
</table>`
}
</section>`;
}

/** `Doctor` page: the button, and the results once run. */
export function doctorPage(
  available: boolean,
  checks: readonly DashboardCheck[] | undefined,
  error: string | undefined,
): SafeHtml {
  const marks = { pass: '✓', fail: '✗', warn: '!', skip: '-' } as const;
  return html`<h1>Doctor</h1>
<p class="muted">The checks of <code>vertex-launch doctor</code>: the agent config, the queue config, credentials, the Vertex API, the staging bucket, the repository and the permissions.</p>
${
  available
    ? html`<form method="get" action="/doctor"><input type="hidden" name="run" value="1"><button type="submit">${checks ? 'Run again' : 'Run the checks'}</button></form>`
    : html`<p class="empty">No doctor was given to this dashboard.</p>`
}
${error ? html`<p class="alert" role="alert">The checks could not run: ${error}</p>` : ''}
${
  checks
    ? html`<ul class="checks">${checks.map(
        (check) => html`<li class="check check-${check.status}" data-check="${check.id ?? check.title}">
<span class="mark">${marks[check.status] ?? '?'}</span> <strong>${check.title}</strong>
<div class="evidence">${check.evidence}</div>
${check.fix && (check.status === 'fail' || check.status === 'warn') ? html`<div class="fix">fix: ${check.fix}</div>` : ''}
</li>`,
      )}</ul>`
    : ''
}`;
}

/** A plain error page (404 and friends). */
export function messagePage(title: string, text: string): SafeHtml {
  return html`<h1>${title}</h1><p>${text}</p><p><a href="/">Back to the queues</a></p>`;
}
