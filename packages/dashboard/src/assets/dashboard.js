// The dashboard's only script: progressive enhancement of server-rendered pages. Without it every page still works
// (forms post, links navigate); with it the queue editor is checked as you type, lists refresh themselves, and an
// item page streams its state and logs (Server-Sent Events). Served from this package: nothing comes from a CDN.

/** Debounce `fn` by `ms`. */
function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Render `{ ok, issues }` from /api/validate into `panel` (text only, never HTML from the answer). */
function renderIssues(panel, answer) {
  panel.replaceChildren();
  const errors = answer.issues.filter((issue) => issue.severity === 'error').length;
  const warnings = answer.issues.length - errors;
  const head = document.createElement('p');
  head.className = errors > 0 ? 'invalid' : 'valid';
  if (answer.issues.length === 0) head.textContent = '✓ The queue config is valid.';
  else {
    head.textContent =
      (errors > 0 ? `✗ ${errors} problem${errors === 1 ? '' : 's'}` : '✓ Valid') +
      (warnings > 0 ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : '');
  }
  panel.append(head);
  if (answer.issues.length === 0) return;
  const list = document.createElement('ul');
  list.className = 'issues';
  for (const issue of answer.issues) {
    const item = document.createElement('li');
    item.className = `issue-${issue.severity}`;
    const path = document.createElement('code');
    path.textContent = issue.path || '(top level)';
    item.append(path, ' ');
    if (issue.severity === 'warning') {
      const strong = document.createElement('strong');
      strong.textContent = 'warning:';
      item.append(strong, ' ');
    }
    item.append(issue.message);
    list.append(item);
  }
  panel.append(list);
}

function liveValidation(textarea) {
  const panel = document.getElementById('issues');
  if (!panel) return;
  let sent = 0;
  const check = debounce(async () => {
    const mine = ++sent;
    try {
      const response = await fetch(textarea.dataset.validate, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: textarea.value,
      });
      if (!response.ok) throw new Error(await response.text());
      const answer = await response.json();
      if (mine === sent) {
        renderIssues(panel, answer);
        panel.dataset.checked = String(mine);
      }
    } catch (error) {
      if (mine === sent) panel.textContent = `Could not check the config: ${error.message}`;
    }
  }, 250);
  textarea.addEventListener('input', check);
}

/** Re-read the page every few seconds and swap in the new content of `section` (while the tab is visible). */
function liveSection(section) {
  const refresh = async () => {
    if (document.hidden) return;
    try {
      const response = await fetch(location.href, { headers: { accept: 'text/html' } });
      if (!response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
      const fresh = doc.getElementById(section.id);
      if (fresh && fresh.innerHTML !== section.innerHTML) section.innerHTML = fresh.innerHTML;
    } catch {
      // Offline for a moment (the dashboard restarting): try again on the next tick.
    }
  };
  setInterval(refresh, 2000);
}

function logStream(pre) {
  const live = document.getElementById('item-live');
  const source = new EventSource(pre.dataset.stream);
  const line = (text, className) => {
    const span = document.createElement('span');
    if (className) span.className = className;
    span.textContent = `${text}\n`;
    pre.append(span);
    pre.scrollTop = pre.scrollHeight;
  };
  source.addEventListener('reset', () => {
    pre.replaceChildren();
    pre.dataset.lines = '0';
  });
  source.addEventListener('log', (event) => {
    const entry = JSON.parse(event.data);
    line(`${entry.timestamp} ${entry.severity.padEnd(7)} ${entry.text}`, `log-${entry.severity.toLowerCase()}`);
    pre.dataset.lines = String(Number(pre.dataset.lines ?? '0') + 1);
  });
  source.addEventListener('log-error', (event) =>
    line(`could not read the logs: ${JSON.parse(event.data).message}`, 'log-error'),
  );
  source.addEventListener('stream-error', (event) =>
    line(`live updates stopped: ${JSON.parse(event.data).message}`, 'log-error'),
  );
  source.addEventListener('item', (event) => {
    // Server-rendered, escaped markup of the item's facts and history.
    if (live) live.innerHTML = JSON.parse(event.data).html;
  });
  source.addEventListener('end', () => {
    source.close();
    pre.dataset.ended = 'true';
    line('— end of the stream —', 'muted');
  });
}

document.addEventListener('DOMContentLoaded', () => {
  for (const textarea of document.querySelectorAll('textarea[data-validate]')) liveValidation(textarea);
  for (const section of document.querySelectorAll('[data-live]')) liveSection(section);
  for (const pre of document.querySelectorAll('pre[data-stream]')) logStream(pre);
});
