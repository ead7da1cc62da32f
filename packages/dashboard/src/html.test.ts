import { describe, expect, test } from 'vitest';
import { escapeHtml, html, redactSecrets, safeJson } from './html.js';

describe('html', () => {
  test('escapes every interpolated value, keeps nested html, joins arrays and drops nullish', () => {
    const name = '<script>alert("x")</script>';
    const inner = html`<b>${'&'}</b>`;
    expect(html`<p title="${`"'`}">${name}${inner}${[1, '<2>']}${undefined}${null}${false}</p>`.text).toBe(
      '<p title="&quot;&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;<b>&amp;</b>1&lt;2&gt;</p>',
    );
  });

  test('redacts URL passwords, access tokens and private keys', () => {
    expect(redactSecrets('postgres://launch:pa55@db:5432/x and http://u:p@h/ and https://h/a:b@c')).toBe(
      'postgres://launch:***@db:5432/x and http://u:***@h/ and https://h/a:b@c',
    );
    expect(redactSecrets('Bearer ya29.a0AfH6SMB-xyz_123 ok')).toBe('Bearer ya29.*** ok');
    expect(redactSecrets('k: -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- end')).toBe(
      'k: <private key> end',
    );
    expect(escapeHtml('mysql://root:toor@h')).toBe('mysql://root:***@h');
  });

  test('safeJson cannot close a script element', () => {
    expect(safeJson({ text: '</script><b>' })).toBe('{"text":"\\u003c/script>\\u003cb>"}');
  });
});
