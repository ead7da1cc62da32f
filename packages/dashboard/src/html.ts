/**
 * Server-side HTML: a tagged template that escapes every interpolated value, and the redaction every value goes
 * through first, so nothing that looks like a secret reaches the page even when a store or a check puts one into
 * a message.
 */

/** Markup that is already safe (made by {@link html}); interpolating it does not escape it again. */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * `scheme://user:password@host` → `scheme://user:***@host` (queue_db URLs, proxy URLs); OAuth access tokens
 * (`ya29.` — Google's prefix for them) and PEM private keys are replaced whole.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi, '$1:***@')
    .replace(/\bya29\.[\w.-]+/g, 'ya29.***')
    .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, '<private key>');
}

/** Redact, then escape for HTML text and attribute values. */
export function escapeHtml(value: unknown): string {
  return redactSecrets(String(value)).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function render(value: unknown): string {
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(value);
}

/** Tagged template: `html\`<td>${name}</td>\``; values are redacted and escaped, arrays joined, nullish dropped. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

/** JSON for a `<script type="application/json">` block or an SSE data line: redacted, `<` escaped. */
export function safeJson(value: unknown): string {
  return redactSecrets(JSON.stringify(value)).replace(/</g, '\\u003c');
}
