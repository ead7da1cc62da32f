// The conformance suite every strategy runs (unstorage's testDriver idea): it answers with credentials a real
// Google client accepts, declines with a reason, caches tokens with one fetch in flight, keeps a long-running
// agent authorised across token expiry, impersonates, and never shows a secret.
import { inspect } from 'node:util';
import type { AuthStrategy } from '@vertex-launch/core';
import type { Emulator } from '@vertex-launch/emulator';
import { AuthClient } from 'google-auth-library';
import { describe, expect, test, vi } from 'vitest';
import { tempDir } from '../../../test/helpers.js';
import type { CommonStrategyOptions, ManagedAuthClient } from '../src/index.js';
import { context, LIST_JOBS, listJobs, secretGuard } from './support.js';

/** A setup in which the strategy applies. */
export interface AppliesFixture {
  strategy: AuthStrategy<ManagedAuthClient>;
  env: Record<string, string | undefined>;
  homedir?: string;
  /** The emulator member the credentials act as (before impersonation), for grants. */
  member: string;
  expected: {
    principal: string | undefined;
    projectId: string | undefined;
    region: string | undefined;
    source: RegExp;
  };
  /** Emulator counter incremented per token fetch (`oauth2.token`, `sts.token`, `metadata.get`...); undefined for raw tokens. */
  tokenCounter: string | undefined;
  /** Secrets the fixture uses (keys, refresh tokens, subject tokens). */
  secrets: string[];
  /** IAM Credentials calls per token the source itself makes (a federation config with an impersonation URL: 1). */
  impersonationCallsPerToken?: number;
}

/** A setup in which the strategy does not apply: it declines with `reason`, or (explicit strategies) throws `error`. */
export interface DeclinesFixture {
  strategy: AuthStrategy<ManagedAuthClient>;
  env: Record<string, string | undefined>;
  homedir?: string;
  reason?: RegExp;
  error?: RegExp;
}

/** One strategy under test. */
export interface ConformanceCase {
  /** Test title, e.g. `serviceAccountKey({ keyFile })`. */
  title: string;
  /** The strategy name the credentials must carry. */
  name: string;
  /** The strategy's own name when it differs (a chain such as `auto`). Default `name`. */
  strategyName?: string;
  /** Makes a fixture; `options` must be passed through to the strategy factory. */
  applies(h: { emulator: Emulator; dir: string; options: CommonStrategyOptions }): Promise<AppliesFixture>;
  declines(h: { emulator: Emulator; dir: string }): Promise<DeclinesFixture>;
  /** False for raw access tokens, which cannot be refreshed. Default true. */
  refreshable?: boolean;
}

/** Registers the conformance tests for `c` against the emulator `getEmulator()` returns. */
export function strategyConformance(c: ConformanceCase, getEmulator: () => Emulator): void {
  const withFixture = async (
    options: CommonStrategyOptions,
    fn: (f: AppliesFixture, emulator: Emulator) => Promise<void>,
  ) => {
    const emulator = getEmulator();
    const dir = await tempDir('vxl-auth-conf-');
    try {
      const fixture = await c.applies({ emulator, dir: dir.path, options });
      secretGuard.secret(...fixture.secrets);
      await fn(fixture, emulator);
    } finally {
      await dir.cleanup();
    }
  };
  const resolve = async (f: AppliesFixture) => {
    const { ctx } = context(f.env, f.homedir);
    const result = await f.strategy.resolve(ctx);
    expect(result.reason).toBeUndefined();
    const credentials = result.credentials!;
    secretGuard.captureCredentials(credentials);
    return credentials;
  };

  describe(`${c.title} conformance`, () => {
    test('answers with credentials that a real Vertex client accepts', async () => {
      await withFixture({}, async (f, emulator) => {
        expect(f.strategy.name).toBe(c.strategyName ?? c.name);
        const credentials = await resolve(f);
        expect(credentials.strategy).toBe(c.name);
        expect(credentials.authClient).toBeInstanceOf(AuthClient);
        expect({
          principal: credentials.principal,
          projectId: credentials.projectId,
          region: credentials.region,
        }).toEqual({ principal: f.expected.principal, projectId: f.expected.projectId, region: f.expected.region });
        expect(credentials.source).toMatch(f.expected.source);
        const { token, expiresAt } = await credentials.accessToken();
        secretGuard.secret(token);
        if (c.refreshable !== false) expect(expiresAt!.getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);
        expect(await listJobs(emulator, credentials)).toBeGreaterThanOrEqual(0);
        const headers = await credentials.authClient.getRequestHeaders();
        expect(headers.get('authorization')).toBe(`Bearer ${token}`);
      });
    });

    test('declines with a reason (or, when explicit, fails clearly) when it does not apply', async () => {
      const emulator = getEmulator();
      const dir = await tempDir('vxl-auth-conf-');
      try {
        const f = await c.declines({ emulator, dir: dir.path });
        const { ctx } = context(f.env, f.homedir);
        if (f.error) {
          const error = await f.strategy.resolve(ctx).then(
            () => undefined,
            (e: unknown) => e,
          );
          secretGuard.captureError(error);
          expect((error as Error).message).toMatch(f.error);
          return;
        }
        const result = await f.strategy.resolve(ctx);
        expect(result.credentials).toBeUndefined();
        expect(result.reason).toMatch(f.reason!);
        secretGuard.capture(result.reason);
      } finally {
        await dir.cleanup();
      }
    });

    test('caches the token: 20 concurrent callers share one fetch', async () => {
      await withFixture({}, async (f, emulator) => {
        const credentials = await resolve(f);
        const before = f.tokenCounter ? (emulator.counters()[f.tokenCounter] ?? 0) : 0;
        const tokens = await Promise.all(Array.from({ length: 20 }, () => credentials.accessToken()));
        for (const t of tokens) secretGuard.secret(t.token);
        expect(new Set(tokens.map((t) => t.token)).size).toBe(1);
        expect(credentials.authClient.refreshCount).toBe(1);
        if (f.tokenCounter) expect((emulator.counters()[f.tokenCounter] ?? 0) - before).toBeGreaterThanOrEqual(1);
        await credentials.accessToken();
        expect(credentials.authClient.refreshCount).toBe(1);
      });
    });

    test('keeps a long-running agent authorised across token expiry (6 hours on a fake clock)', async () => {
      const emulator = getEmulator();
      await withFixture({}, async (f) => {
        const credentials = await resolve(f);
        const seen = new Set<string>();
        // Fake only `Date`: the client, google-auth-library and the emulator (same process) all move together.
        // The emulator clock never runs backwards, so start from whichever of the two is ahead.
        vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
        vi.setSystemTime(Math.max(Date.now(), emulator.clock.now()));
        try {
          for (let step = 0; step < 8; step++) {
            expect(await listJobs(emulator, credentials)).toBeGreaterThanOrEqual(0);
            const { token } = await credentials.accessToken();
            secretGuard.secret(token);
            seen.add(token);
            vi.setSystemTime(Date.now() + 45 * 60_000);
          }
        } finally {
          vi.useRealTimers();
        }
        if (c.refreshable === false) {
          expect(seen.size).toBe(1);
        } else {
          // 6 hours with 1-hour tokens refreshed 5 minutes early: a new token at least every 2 steps.
          expect(seen.size).toBeGreaterThanOrEqual(4);
          expect(credentials.authClient.refreshCount).toBe(seen.size);
        }
      });
    });

    test('impersonates a service account (option `impersonate`)', async () => {
      const emulator = getEmulator();
      const target = `imp-${c.name}`.slice(0, 28);
      const email = `${target}@${emulator.projectId}.iam.gserviceaccount.com`;
      await emulator.iam.createServiceAccount(target, { permissions: [LIST_JOBS] });
      await withFixture({ impersonate: email }, async (f) => {
        emulator.iam.grant(
          f.member,
          ['iam.serviceAccounts.getAccessToken'],
          emulator.iam.serviceAccountResource(email),
        );
        const before = emulator.counters()['iamcredentials.generateAccessToken'] ?? 0;
        const credentials = await resolve(f);
        expect(credentials.principal).toBe(email);
        expect(credentials.source).toContain(`impersonating ${email}`);
        expect(await listJobs(emulator, credentials)).toBeGreaterThanOrEqual(0);
        expect((emulator.counters()['iamcredentials.generateAccessToken'] ?? 0) - before).toBe(
          1 + (f.impersonationCallsPerToken ?? 0),
        );
        secretGuard.secret((await credentials.accessToken()).token);
      });
    });

    test('never shows a secret when the credentials are printed', async () => {
      await withFixture({}, async (f) => {
        const credentials = await resolve(f);
        const { token } = await credentials.accessToken();
        const printed = [JSON.stringify(credentials), inspect(credentials, { depth: 10 }), credentials.source].join(
          '\n',
        );
        for (const secret of [token, ...f.secrets]) expect(printed).not.toContain(secret);
        secretGuard.secret(token);
        secretGuard.capture(printed);
      });
    });
  });
}
