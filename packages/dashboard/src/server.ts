/**
 * `startDashboard()`: a local web dashboard over a queue store and a job runner, on Node's own `http` server.
 * Every action goes through the same SDK calls the CLI makes: `validateQueueConfig` for the editor,
 * `store.createQueue` / `updateQueue` / `enqueue` / `requestCancel`, `planLaunch` to check a launch and show its
 * CustomJob request, `runner.get` / `logs` / `consoleUrl` for jobs. Security: see `security.ts`.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  type ConfigIssue,
  isVertexLaunchError,
  type JobRunner,
  type JobSnapshot,
  jobConsoleUrl,
  parseJobName,
  planLaunch,
  type QueueDefinition,
  type QueueItem,
  type QueueStore,
  timerDelay,
} from '@vertex-launch/core';
import { DEFAULT_QUEUE_CONFIG, parseConfigText, validateQueueConfig } from '@vertex-launch/core/config';
import { toRestJson } from '@vertex-launch/core/mapping';
import { RUN_ID_PATTERN } from '@vertex-launch/core/queue';
import { stringify } from 'yaml';
import { redactSecrets, type SafeHtml, safeJson } from './html.js';
import type { Dashboard, DashboardLogLine, DashboardOptions, DashboardRunnerTarget } from './options.js';
import {
  agentsPage,
  doctorPage,
  type EnqueueValues,
  itemLive,
  itemPage,
  layout,
  messagePage,
  type QueueCounts,
  type QueueFormValues,
  queueFormPage,
  queuePage,
  queuesPage,
} from './pages.js';
import {
  allowedHostHeaders,
  checkRequest,
  isLoopbackHost,
  newToken,
  type RequestGuard,
  tokenCookie,
} from './security.js';

/** Finished items counted per queue on the queue list; more show as `N+`. */
const COUNT_CAP = 1000;
/** Largest request body accepted (a queue config is a few KB). */
const MAX_BODY_BYTES = 1024 * 1024;

const ASSETS: Record<string, string> = {
  '/assets/dashboard.css': 'text/css; charset=utf-8',
  '/assets/dashboard.js': 'text/javascript; charset=utf-8',
};

/**
 * The page may only load its own script and stylesheet and talk to this server; it cannot be framed, and links to
 * the Google Cloud console carry no referrer. (`same-origin`, not `no-referrer`: with `no-referrer` browsers send
 * `Origin: null` on the page's own form posts, https://fetch.spec.whatwg.org/#origin-header.)
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'referrer-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
} as const;

/** The warning logged when the dashboard listens on anything but loopback. */
export function nonLoopbackWarning(host: string, port: number): string {
  return `the dashboard listens on ${host}, not on loopback: anyone who can reach ${host}:${port} and learns the URL can create queues and cancel launches, over plain HTTP. Prefer the default 127.0.0.1 with an SSH tunnel.`;
}

/** The default queue config as the editor shows it first. */
export function defaultConfigYaml(): string {
  return `# Set every <REQUIRED> value; \${image_uri} is filled at launch.\n${stringify(DEFAULT_QUEUE_CONFIG)}`;
}

/** The result `/api/validate` answers with: every problem with its path, warnings included. */
export interface ValidateAnswer {
  ok: boolean;
  issues: ConfigIssue[];
}

/** Parse and validate queue config text as `vertex-launch queue validate` does. */
export function validateConfigText(text: string): ValidateAnswer & { config?: unknown } {
  let raw: unknown;
  try {
    raw = parseConfigText(text, 'the queue config');
  } catch (error) {
    if (error instanceof ConfigError) {
      const issues =
        error.issues.length > 0
          ? [...error.issues]
          : [{ path: '', message: error.message, severity: 'error' as const }];
      return { ok: false, issues };
    }
    throw error;
  }
  const result = validateQueueConfig(raw);
  return { ok: result.ok, issues: result.issues, config: raw };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    text: string,
  ) {
    super(text);
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'Request body too large (at most 1 MB).');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const type = request.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    throw new HttpError(415, 'Expected a form (application/x-www-form-urlencoded).');
  }
  return new URLSearchParams(await readBody(request));
}

/** `name=value` lines of the enqueue form. */
function parseVariables(text: string): { variables: Record<string, string>; issues: ConfigIssue[] } {
  const variables: Record<string, string> = {};
  const issues: ConfigIssue[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '') return;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) {
      issues.push({
        path: `variables (line ${index + 1})`,
        message: `\`${trimmed.slice(0, 60)}\` is not name=value`,
        severity: 'error',
      });
      return;
    }
    variables[trimmed.slice(0, eq).trim()] = trimmed.slice(eq + 1).trim();
  });
  return { variables, issues };
}

/** Store issues of `config.*` re-pointed at the editor, the rest kept for the fields. */
function splitIssues(issues: readonly ConfigIssue[]): { config: ConfigIssue[]; fields: ConfigIssue[] } {
  const config: ConfigIssue[] = [];
  const fields: ConfigIssue[] = [];
  for (const issue of issues) {
    if (issue.path === 'config') config.push({ ...issue, path: '' });
    else if (issue.path.startsWith('config.')) config.push({ ...issue, path: issue.path.slice('config.'.length) });
    else fields.push(issue);
  }
  return { config, fields };
}

/** The NAMEs of the `${env:NAME}` macros in `values` (queue config, overrides). */
function envNamesIn(...values: unknown[]): string[] {
  const names = new Set<string>();
  for (const match of JSON.stringify(values).matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
    names.add(match[1] as string);
  }
  return [...names];
}

/** `${env:NAME}` shown as `<env:NAME>` in the request the page shows: the dashboard never sends environment values. */
const PLACEHOLDER_ENV: Record<string, string | undefined> = new Proxy(
  {},
  { get: (_target, name) => (typeof name === 'string' ? `<env:${name}>` : undefined) },
);

/**
 * Start the dashboard. Resolves once it listens.
 * @example
 * const dashboard = await startDashboard({ store: sqliteQueueStore(), runner: vertexRunner({ credentials, project, region }) });
 * console.log(`open ${dashboard.url}`);
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const store: QueueStore = options.store;
  const host = options.host ?? '127.0.0.1';
  const pollMs = options.pollIntervalMs ?? 1000;
  const log = (level: DashboardLogLine['level'], text: string) => {
    try {
      options.onLog?.({ level, message: redactSecrets(text) });
    } catch {
      // A logger's failure must not break a request.
    }
  };
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535)) {
    throw new ConfigError(
      `[vertex-launch] [dashboard] Invalid port ${String(options.port)}: use 0 (any free port) to 65535.`,
      [{ path: 'port', message: 'must be a whole number from 0 to 65535', severity: 'error' }],
    );
  }
  const storeLabel = options.storeLabel ? redactSecrets(options.storeLabel) : store.name;
  const token = newToken();
  const guard: RequestGuard = { token, cookieName: 'vxl_dashboard', hosts: new Set() };
  const streams = new Set<AbortController>();
  const ownedRunners = new Map<string, Promise<JobRunner>>();

  // --- runners ---------------------------------------------------------------------------------------------------
  const runnerFor = async (jobName: string): Promise<JobRunner | undefined> => {
    const given = options.runner;
    if (given === undefined) return undefined;
    if (typeof given !== 'function') return given;
    const parts = parseJobName(jobName);
    if (!parts) throw new Error(`\`${jobName}\` is not a job name`);
    const target: DashboardRunnerTarget = { project: parts.project, region: parts.region };
    const key = `${target.project}/${target.region}`;
    let runner = ownedRunners.get(key);
    if (!runner) {
      runner = Promise.resolve().then(() => given(target));
      // A failed factory (no credentials) is tried again on the next page, not cached.
      runner.catch(() => ownedRunners.delete(key));
      ownedRunners.set(key, runner);
    }
    return runner;
  };
  const consoleUrlSync = (jobName: string): string => {
    const given = options.runner;
    if (given !== undefined && typeof given !== 'function') return given.consoleUrl(jobName);
    const parts = parseJobName(jobName);
    return parts ? jobConsoleUrl(parts) : '#';
  };
  const readJob = async (jobName: string): Promise<{ snapshot?: JobSnapshot; error?: string } | undefined> => {
    try {
      const runner = await runnerFor(jobName);
      if (!runner) return undefined;
      return { snapshot: await runner.get(jobName) };
    } catch (error) {
      return { error: message(error) };
    }
  };

  // --- data ------------------------------------------------------------------------------------------------------
  const countsOf = async (queue: string): Promise<QueueCounts> => {
    const [queued, claimed, finished] = await Promise.all([
      store.list({ queue, states: ['queued'], limit: COUNT_CAP }),
      store.list({ queue, states: ['claimed'], limit: COUNT_CAP }),
      store.list({ queue, states: ['finished'], limit: COUNT_CAP + 1 }),
    ]);
    const counted = finished.slice(0, COUNT_CAP);
    return {
      queued: queued.length,
      claimed: claimed.length,
      succeeded: counted.filter((item) => item.outcome === 'succeeded').length,
      failed: counted.filter((item) => item.outcome === 'failed').length,
      cancelled: counted.filter((item) => item.outcome === 'cancelled').length,
      capped: finished.length > COUNT_CAP,
    };
  };
  const requireQueue = async (name: string): Promise<QueueDefinition> => {
    const queue = await store.getQueue(name);
    if (!queue) throw new HttpError(404, `Queue \`${name}\` does not exist.`);
    return queue;
  };
  const requireItem = async (id: string): Promise<QueueItem> => {
    const item = await store.get(id);
    if (!item) throw new HttpError(404, `Item \`${id}\` does not exist.`);
    return item;
  };
  const defaultTarget = (queue: QueueDefinition | undefined) => {
    const given = options.runner as (Partial<DashboardRunnerTarget> & object) | undefined;
    const fromRunner = given !== undefined && typeof given !== 'function' ? given : {};
    return {
      project: queue?.project ?? options.project ?? fromRunner.project,
      region: queue?.region ?? options.region ?? fromRunner.region,
    };
  };

  /** The CustomJob request of an item, mapped now from its queue's current config as the agent maps it. */
  const requestOf = async (item: QueueItem): Promise<{ json?: string; note: string }> => {
    const queue = await store.getQueue(item.queue);
    if (!queue) return { note: `Queue \`${item.queue}\` no longer exists, so its request cannot be shown.` };
    const target = defaultTarget(queue);
    const project = target.project ?? 'PROJECT';
    const region = target.region ?? 'REGION';
    const image = item.imageUri ?? item.request.image;
    try {
      const plan = planLaunch({
        config: queue.config,
        ...(item.request.variables ? { variables: item.request.variables } : {}),
        overrides: item.request.overrides,
        env: PLACEHOLDER_ENV,
        // Only placeholders are read: every name the config and overrides use may show as its placeholder.
        allowedEnv: envNamesIn(queue.config, item.request.overrides),
        projectId: project,
        region,
        runId: item.runId,
        launchId: item.launchId,
        queueName: queue.name,
        ...(image === undefined ? {} : { image }),
      });
      return {
        json: JSON.stringify(toRestJson(plan.request), null, 2),
        note: `Mapped from the queue's current config as the agent maps it (Vertex REST v1 form); \${env:NAME} values show as <env:NAME>.${image === undefined ? ' The image is not built yet.' : ''}`,
      };
    } catch (error) {
      const issues =
        error instanceof ConfigError && error.issues.length > 0
          ? `: ${error.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`
          : '';
      return { note: `The queue's current config does not resolve for this launch (${message(error)}${issues}).` };
    }
  };

  // --- responses -------------------------------------------------------------------------------------------------
  const send = (response: ServerResponse, status: number, type: string, body: string, headers = {}) => {
    response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, ...headers });
    response.end(body);
  };
  const page = (response: ServerResponse, title: string, body: SafeHtml, current = '', status = 200) =>
    send(response, status, 'text/html; charset=utf-8', layout(title, body, storeLabel, current).text);
  const redirect = (response: ServerResponse, location: string) =>
    send(response, 303, 'text/plain; charset=utf-8', `See ${location}`, { location });
  const json = (response: ServerResponse, status: number, value: unknown) =>
    send(response, status, 'application/json; charset=utf-8', safeJson(value));

  const queueForm = async (
    response: ServerResponse,
    mode: 'create' | 'edit',
    values: QueueFormValues,
    storeIssues: readonly ConfigIssue[] | undefined,
    text?: string,
  ) => {
    const live = validateConfigText(values.config).issues;
    const split = storeIssues ? splitIssues(storeIssues) : { config: live, fields: [] };
    page(
      response,
      mode === 'create' ? 'Create queue' : `Edit ${values.name}`,
      queueFormPage(mode, values, split.config.length > 0 ? split.config : live, split.fields, text),
      '',
      storeIssues ? 422 : 200,
    );
  };

  const formValues = (form: URLSearchParams): QueueFormValues => ({
    name: (form.get('name') ?? '').trim(),
    project: (form.get('project') ?? '').trim(),
    region: (form.get('region') ?? '').trim(),
    description: (form.get('description') ?? '').trim(),
    config: form.get('config') ?? '',
  });

  const showQueue = async (
    response: ServerResponse,
    name: string,
    enqueue?: { values: EnqueueValues; issues: ConfigIssue[]; message?: string },
  ) => {
    const queue = await requireQueue(name);
    const items = await store.list({ queue: name, limit: 100 });
    page(response, queue.name, queuePage(queue, items, consoleUrlSync, enqueue), '', enqueue ? 422 : 200);
  };

  // --- routes ----------------------------------------------------------------------------------------------------
  async function route(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const method = request.method ?? 'GET';
    const path = url.pathname;
    let parts: string[];
    try {
      parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw new HttpError(400, `Malformed path ${path}.`);
    }

    if (method === 'GET' && ASSETS[path]) {
      const file = fileURLToPath(new URL(`.${path}`, import.meta.url));
      send(response, 200, ASSETS[path], await readFile(file, 'utf8'), { 'cache-control': 'no-cache' });
      return;
    }
    if (method === 'GET' && path === '/') {
      const queues = await store.listQueues();
      const rows = await Promise.all(queues.map(async (queue) => ({ queue, counts: await countsOf(queue.name) })));
      page(response, 'Queues', queuesPage(rows), '/');
      return;
    }
    if (method === 'POST' && path === '/api/validate') {
      json(response, 200, validateConfigText(await readBody(request)) satisfies ValidateAnswer);
      return;
    }
    if (method === 'GET' && path === '/queues/new') {
      await queueForm(
        response,
        'create',
        { name: '', project: '', region: '', description: '', config: defaultConfigYaml() },
        undefined,
      );
      return;
    }
    if (method === 'POST' && path === '/queues') {
      const values = formValues(await readForm(request));
      const parsed = validateConfigText(values.config);
      if (parsed.config === undefined) {
        await queueForm(
          response,
          'create',
          values,
          parsed.issues.map((i) => ({ ...i, path: i.path ? `config.${i.path}` : 'config' })),
          'The configuration is not valid YAML; nothing was saved.',
        );
        return;
      }
      try {
        await store.createQueue({
          name: values.name,
          config: parsed.config,
          ...(values.project ? { project: values.project } : {}),
          ...(values.region ? { region: values.region } : {}),
          ...(values.description ? { description: values.description } : {}),
        });
      } catch (error) {
        if (error instanceof ConfigError || (isVertexLaunchError(error) && error.name === 'QueueError')) {
          const issues =
            error instanceof ConfigError
              ? error.issues
              : [{ path: 'name', message: error.message, severity: 'error' as const }];
          await queueForm(
            response,
            'create',
            values,
            issues,
            `Cannot create queue \`${values.name}\`; nothing was saved.`,
          );
          return;
        }
        throw error;
      }
      log('info', `created queue ${values.name}`);
      redirect(response, `/queues/${encodeURIComponent(values.name)}`);
      return;
    }
    if (parts[0] === 'queues' && parts.length >= 2) {
      const name = parts[1] as string;
      if (method === 'GET' && parts.length === 2) {
        await showQueue(response, name);
        return;
      }
      if (method === 'GET' && parts[2] === 'edit' && parts.length === 3) {
        const queue = await requireQueue(name);
        await queueForm(
          response,
          'edit',
          {
            name,
            project: queue.project ?? '',
            region: queue.region ?? '',
            description: queue.description ?? '',
            config: stringify(queue.config),
          },
          undefined,
        );
        return;
      }
      if (method === 'POST' && parts.length === 2) {
        const values = { ...formValues(await readForm(request)), name };
        const queue = await requireQueue(name);
        const parsed = validateConfigText(values.config);
        if (parsed.config === undefined) {
          await queueForm(
            response,
            'edit',
            values,
            parsed.issues.map((i) => ({ ...i, path: i.path ? `config.${i.path}` : 'config' })),
            'The configuration is not valid YAML; nothing was saved.',
          );
          return;
        }
        try {
          await store.updateQueue(name, {
            config: parsed.config,
            project: values.project || (queue.project === undefined ? undefined : null),
            region: values.region || (queue.region === undefined ? undefined : null),
            description: values.description || (queue.description === undefined ? undefined : null),
          });
        } catch (error) {
          if (error instanceof ConfigError) {
            await queueForm(
              response,
              'edit',
              values,
              error.issues,
              `Cannot save queue \`${name}\`; nothing was changed.`,
            );
            return;
          }
          throw error;
        }
        log('info', `updated queue ${name}`);
        redirect(response, `/queues/${encodeURIComponent(name)}`);
        return;
      }
      if (method === 'POST' && parts[2] === 'items' && parts.length === 3) {
        const form = await readForm(request);
        const values: EnqueueValues = {
          image: (form.get('image') ?? '').trim(),
          variables: form.get('variables') ?? '',
          runId: (form.get('runId') ?? '').trim(),
        };
        const queue = await requireQueue(name);
        const { variables, issues } = parseVariables(values.variables);
        if (values.image === '') issues.push({ path: 'image', message: 'give the image to run', severity: 'error' });
        if (values.runId !== '' && !RUN_ID_PATTERN.test(values.runId)) {
          issues.push({
            path: 'run id',
            message: 'use lowercase letters, digits, `-` and `_` (at most 63)',
            severity: 'error',
          });
        }
        if (issues.length === 0) {
          // Resolve now, as `launch --queue` does, so config and variable errors show before anything is enqueued.
          const target = defaultTarget(queue);
          try {
            planLaunch({
              config: queue.config,
              variables,
              env: process.env,
              projectId: target.project ?? 'placeholder-project',
              region: target.region ?? 'us-central1',
              runId: values.runId || 'placeholder',
              launchId: randomUUID(),
              queueName: queue.name,
              image: values.image,
            });
          } catch (error) {
            if (!(error instanceof ConfigError)) throw error;
            issues.push(
              ...(error.issues.length > 0
                ? error.issues
                : [{ path: '', message: error.message, severity: 'error' as const }]),
            );
          }
        }
        if (issues.some((issue) => issue.severity === 'error')) {
          await showQueue(response, name, {
            values,
            issues,
            message: 'The launch does not resolve; nothing was enqueued.',
          });
          return;
        }
        const item = await store.enqueue(name, {
          image: values.image,
          ...(Object.keys(variables).length > 0 ? { variables } : {}),
          ...(values.runId ? { runId: values.runId } : {}),
          submitter: 'dashboard',
        });
        log('info', `enqueued item ${item.id} (run ${item.runId}) to queue ${name}`);
        redirect(response, `/items/${item.id}`);
        return;
      }
    }
    if (parts[0] === 'items' && parts.length >= 2) {
      const id = parts[1] as string;
      if (method === 'GET' && parts.length === 2) {
        const item = await requireItem(id);
        const job = item.jobName ? await readJob(item.jobName) : undefined;
        const live = itemLive(item, job, item.jobName ? consoleUrlSync(item.jobName) : undefined);
        page(response, `Launch ${item.runId}`, itemPage(item, live, await requestOf(item)));
        return;
      }
      if (method === 'POST' && parts[2] === 'cancel' && parts.length === 3) {
        const item = await store.requestCancel(id);
        log('info', `cancel requested for item ${item.id}`);
        redirect(response, `/items/${item.id}`);
        return;
      }
      if (method === 'GET' && parts[2] === 'events' && parts.length === 3) {
        await stream(request, response, await requireItem(id));
        return;
      }
    }
    if (method === 'GET' && path === '/agents') {
      page(response, 'Agents', agentsPage(await store.listAgents(), Date.now()), '/agents');
      return;
    }
    if (method === 'GET' && path === '/doctor') {
      let checks: Awaited<ReturnType<NonNullable<DashboardOptions['doctor']>>> | undefined;
      let error: string | undefined;
      if (url.searchParams.get('run') === '1' && options.doctor) {
        try {
          checks = await options.doctor();
        } catch (cause) {
          error = message(cause);
        }
      }
      page(response, 'Doctor', doctorPage(options.doctor !== undefined, checks, error), '/doctor');
      return;
    }
    throw new HttpError(404, `Nothing at ${path}.`);
  }

  /** The live stream of an item page: `item` (the live HTML) on every change, `log` per log line, then `end`. */
  async function stream(request: IncomingMessage, response: ServerResponse, first: QueueItem): Promise<void> {
    const controller = new AbortController();
    streams.add(controller);
    const { signal } = controller;
    request.on('close', () => controller.abort());
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
    });
    const emit = (event: string, data: unknown) => {
      if (!signal.aborted) response.write(`event: ${event}\ndata: ${safeJson(data)}\n\n`);
    };
    emit('reset', {});
    let item = first;
    let logs: Promise<void> | undefined;
    let logsDone = false;
    const startLogs = (jobName: string) => {
      logs = (async () => {
        try {
          const runner = await runnerFor(jobName);
          if (!runner) {
            emit('log-error', { message: 'no job runner was given to the dashboard' });
            return;
          }
          for await (const entry of runner.logs(jobName, { follow: true, signal })) {
            emit('log', { timestamp: entry.timestamp, severity: entry.severity, text: entry.text });
          }
        } catch (error) {
          if (!signal.aborted) emit('log-error', { message: message(error) });
        } finally {
          logsDone = true;
        }
      })();
    };
    let seen = '';
    let jobCheckedAt = 0;
    let job: Awaited<ReturnType<typeof readJob>>;
    try {
      while (!signal.aborted) {
        const key = `${item.updatedAt}|${item.events.length}|${item.state}`;
        const jobDue =
          item.jobName !== undefined && Date.now() - jobCheckedAt >= pollMs * 3 && !job?.snapshot?.terminal;
        if (key !== seen || jobDue) {
          if (item.jobName) {
            job = await readJob(item.jobName);
            jobCheckedAt = Date.now();
          }
          seen = key;
          emit('item', {
            html: itemLive(item, job, item.jobName ? consoleUrlSync(item.jobName) : undefined).text,
            state: item.state,
          });
        }
        if (item.jobName && !logs) startLogs(item.jobName);
        if (item.state === 'finished' && (!logs || logsDone)) {
          emit('end', { state: item.state, outcome: item.outcome });
          break;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timerDelay(pollMs));
          signal.addEventListener(
            'abort',
            () => {
              clearTimeout(timer);
              resolve();
            },
            { once: true },
          );
        });
        if (signal.aborted) break;
        item = (await store.get(item.id)) ?? item;
      }
    } catch (error) {
      emit('stream-error', { message: message(error) });
    } finally {
      controller.abort();
      await logs?.catch(() => undefined);
      streams.delete(controller);
      response.end();
    }
  }

  // --- the server ------------------------------------------------------------------------------------------------
  const server = createServer((request, response) => {
    const verdict = checkRequest(
      { method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers },
      guard,
    );
    if (!verdict.ok) {
      send(response, verdict.status, 'text/plain; charset=utf-8', `${verdict.message}\n`);
      return;
    }
    const url = new URL(request.url ?? '/', 'http://dashboard');
    if (verdict.tokenFromUrl) {
      // Keep the token in a cookie and drop it from the address bar (and from history).
      url.searchParams.delete('token');
      send(response, 303, 'text/plain; charset=utf-8', 'Signed in.', {
        location: `${url.pathname}${url.search}`,
        'set-cookie': tokenCookie(guard),
      });
      return;
    }
    route(request, response, url).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (status === 500) log('error', `${request.method} ${url.pathname}: ${message(error)}`);
      if (response.headersSent) {
        response.end();
        return;
      }
      const text = error instanceof HttpError ? error.message : `Something went wrong: ${message(error)}`;
      if ((request.headers.accept ?? '').includes('text/html')) {
        page(
          response,
          status === 404 ? 'Not found' : 'Error',
          messagePage(status === 404 ? 'Not found' : 'Error', text),
          '',
          status,
        );
      } else {
        send(response, status, 'text/plain; charset=utf-8', `${redactSecrets(text)}\n`);
      }
    });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new ConfigError(
          `[vertex-launch] [dashboard] Cannot listen on ${host}:${options.port ?? 0}: ${error.code === 'EADDRINUSE' ? 'the port is in use' : error.message}.`,
          [],
          { hint: 'Choose another port with --port (0 picks a free one), or another --host.', cause: error },
        ),
      );
    });
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  guard.hosts = allowedHostHeaders(host, port);
  // Browsers share cookies across the ports of one host: name this dashboard's cookie after its port.
  guard.cookieName = `vxl_dashboard_${port}`;
  const urlHost =
    isLoopbackHost(host) || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}/?token=${token}`;
  if (!isLoopbackHost(host)) log('warn', nonLoopbackWarning(host, port));
  log('info', `dashboard listening on ${host}:${port}`);

  let closing: Promise<void> | undefined;
  return {
    url,
    host,
    port,
    close() {
      closing ??= (async () => {
        for (const controller of streams) controller.abort();
        server.closeIdleConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        const runners = await Promise.allSettled(ownedRunners.values());
        for (const result of runners)
          if (result.status === 'fulfilled') await result.value.close?.().catch(() => undefined);
      })();
      return closing;
    },
  };
}
