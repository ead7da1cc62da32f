// Every strategy runs the shared conformance suite against the emulator with the real google-auth-library.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Emulator, startEmulator } from '@vertex-launch/emulator';
import { afterAll, beforeAll } from 'vitest';
import { auto, environment, gcloudAdc, serviceAccountKey, workloadIdentity } from '../src/index.js';
import { strategyConformance } from './conformance.js';
import { baseEnv, emulatorEnv, LIST_JOBS, useSecretGuard, writeJson } from './support.js';

useSecretGuard();

let emulator: Emulator;
const get = () => emulator;
const METADATA_SA = 'gke-node';

beforeAll(async () => {
  emulator = await startEmulator({ metadataServiceAccount: `${METADATA_SA}@vxl-emulator.iam.gserviceaccount.com` });
  await emulator.iam.createServiceAccount(METADATA_SA, { permissions: [LIST_JOBS] });
});
afterAll(async () => {
  await emulator?.stop();
});

let n = 0;
async function saKey(dir: string) {
  const key = await emulator.iam.createServiceAccount(`conf-sa-${++n}`, { permissions: [LIST_JOBS] });
  const file = await writeJson(join(dir, 'key.json'), key);
  return { key, file };
}

async function gcloudDir(
  dir: string,
  adc: unknown,
  config = '[core]\nproject = adc-proj\naccount = ana@example.com\n[ai]\nregion = europe-west4\n',
) {
  const root = join(dir, 'gcloud');
  await writeJson(join(root, 'application_default_credentials.json'), adc);
  await mkdir(join(root, 'configurations'), { recursive: true });
  await writeFile(join(root, 'configurations', 'config_default'), config);
  return root;
}

strategyConformance(
  {
    title: 'serviceAccountKey({ keyFile })',
    name: 'service-account-key',
    async applies({ dir, options }) {
      const { key, file } = await saKey(dir);
      return {
        strategy: serviceAccountKey({ ...options, keyFile: file }),
        env: emulatorEnv(emulator),
        member: key.client_email,
        expected: {
          principal: key.client_email,
          projectId: emulator.projectId,
          region: undefined,
          source: /^service account conf-sa-\d+@.* \(key .*key\.json\)/,
        },
        tokenCounter: 'oauth2.token',
        secrets: [key.private_key],
      };
    },
    async declines({ dir }) {
      // An explicit key never declines: a missing file is an error naming it.
      return {
        strategy: serviceAccountKey({ keyFile: join(dir, 'missing.json') }),
        env: baseEnv(),
        error: /\[auth:service-account-key\] `keyFile` names .*missing\.json, which does not exist/,
      };
    },
  },
  get,
);

strategyConformance(
  {
    title: 'environment() with GOOGLE_APPLICATION_CREDENTIALS',
    name: 'environment',
    async applies({ dir, options }) {
      const { key, file } = await saKey(dir);
      return {
        strategy: environment(options),
        env: emulatorEnv(emulator, {
          GOOGLE_APPLICATION_CREDENTIALS: file,
          CLOUDSDK_CORE_PROJECT: 'env-proj',
          CLOUDSDK_COMPUTE_REGION: 'asia-east1',
        }),
        member: key.client_email,
        expected: {
          principal: key.client_email,
          projectId: 'env-proj',
          region: 'asia-east1',
          source: /^\$GOOGLE_APPLICATION_CREDENTIALS: service account/,
        },
        tokenCounter: 'oauth2.token',
        secrets: [key.private_key],
      };
    },
    async declines() {
      return {
        strategy: environment(),
        env: emulatorEnv(emulator, { GOOGLE_CLOUD_PROJECT: 'p' }),
        reason: /GOOGLE_OAUTH_ACCESS_TOKEN.*GOOGLE_APPLICATION_CREDENTIALS is set|none of/,
      };
    },
  },
  get,
);

strategyConformance(
  {
    title: 'environment() with GOOGLE_OAUTH_ACCESS_TOKEN',
    name: 'environment',
    refreshable: false,
    async applies({ options }) {
      const member = `raw-token-${++n}@example.com`;
      emulator.iam.grant(member, [LIST_JOBS]);
      const token = emulator.iam.issueToken(member, 30 * 24 * 3600);
      return {
        strategy: environment(options),
        env: emulatorEnv(emulator, {
          GOOGLE_OAUTH_ACCESS_TOKEN: token,
          GOOGLE_CLOUD_PROJECT: emulator.projectId,
          GOOGLE_CLOUD_REGION: emulator.region,
        }),
        member,
        expected: {
          principal: undefined,
          projectId: emulator.projectId,
          region: emulator.region,
          source: /^access token from \$GOOGLE_OAUTH_ACCESS_TOKEN$/,
        },
        tokenCounter: undefined,
        secrets: [token],
      };
    },
    async declines() {
      return {
        strategy: environment(),
        env: baseEnv(),
        reason:
          /none of \$GOOGLE_OAUTH_ACCESS_TOKEN, \$CLOUDSDK_AUTH_ACCESS_TOKEN, \$GOOGLE_APPLICATION_CREDENTIALS is set/,
      };
    },
  },
  get,
);

strategyConformance(
  {
    title: 'gcloudAdc() with authorized_user',
    name: 'gcloud-adc',
    async applies({ dir, options }) {
      const email = `ana-${++n}@example.com`;
      const user = emulator.iam.createUser(email, { permissions: [LIST_JOBS] });
      const root = await gcloudDir(dir, user);
      return {
        strategy: gcloudAdc(options),
        env: emulatorEnv(emulator, { CLOUDSDK_CONFIG: root }),
        member: `user:${email}`,
        expected: {
          principal: undefined,
          projectId: 'adc-proj',
          region: 'europe-west4',
          source:
            /^gcloud application-default credentials: user credentials \(authorized_user\) in .*; project from gcloud configuration "default", region from ai\/region$/,
        },
        tokenCounter: 'oauth2.token',
        secrets: [user.refresh_token, user.client_secret],
      };
    },
    async declines({ dir }) {
      return {
        strategy: gcloudAdc(),
        env: baseEnv({ CLOUDSDK_CONFIG: dir }),
        reason: /application_default_credentials\.json does not exist \(run `gcloud auth application-default login`\)/,
      };
    },
  },
  get,
);

strategyConformance(
  {
    title: 'gcloudAdc() with a service_account key, from ~/.config/gcloud',
    name: 'gcloud-adc',
    async applies({ dir, options }) {
      const { key } = await saKey(dir);
      await gcloudDir(join(dir, 'home', '.config'), key, '[core]\nproject = home-proj\n[compute]\nregion = us-east4\n');
      return {
        strategy: gcloudAdc(options),
        env: emulatorEnv(emulator, { CLOUDSDK_CONFIG: undefined }),
        homedir: join(dir, 'home'),
        member: key.client_email,
        expected: {
          principal: key.client_email,
          projectId: 'home-proj',
          region: 'us-east4',
          source: /region from compute\/region$/,
        },
        tokenCounter: 'oauth2.token',
        secrets: [key.private_key],
      };
    },
    async declines({ dir }) {
      return {
        strategy: gcloudAdc(),
        env: baseEnv({ CLOUDSDK_CONFIG: undefined }),
        homedir: dir,
        reason: /\.config\/gcloud\/application_default_credentials\.json does not exist/,
      };
    },
  },
  get,
);

strategyConformance(
  {
    title: 'workloadIdentity() on the metadata server',
    name: 'workload-identity',
    async applies({ options }) {
      const host = new URL(emulator.httpUrl).host;
      const email = `${METADATA_SA}@${emulator.projectId}.iam.gserviceaccount.com`;
      return {
        strategy: workloadIdentity({ ...options, endpoints: { metadataHost: host } }),
        // METADATA_SERVER_DETECTION=none (from the emulator env) is overridden by the explicit host.
        env: emulatorEnv(emulator, { KUBERNETES_SERVICE_HOST: '10.0.0.1' }),
        member: email,
        expected: {
          principal: email,
          projectId: emulator.projectId,
          region: emulator.region,
          source: new RegExp(`^GKE workload identity \\(metadata server at ${host}\\) as ${email}$`),
        },
        tokenCounter: 'metadata.get',
        secrets: [],
      };
    },
    async declines() {
      return {
        strategy: workloadIdentity(),
        env: baseEnv(),
        reason: /metadata server detection is disabled \(METADATA_SERVER_DETECTION=none\)/,
      };
    },
  },
  get,
);

strategyConformance(
  {
    title: 'workloadIdentity({ credentialConfig }) with federation and impersonation URL',
    name: 'workload-identity',
    async applies({ dir, options }) {
      const deployer = `ci-deployer-${++n}`;
      const email = `${deployer}@${emulator.projectId}.iam.gserviceaccount.com`;
      await emulator.iam.createServiceAccount(deployer, { permissions: [LIST_JOBS] });
      const identity = emulator.iam.addExternalIdentity(`repo:acme/train:ref:refs/heads/main-${n}`);
      emulator.iam.grant(
        identity.member,
        ['iam.serviceAccounts.getAccessToken'],
        emulator.iam.serviceAccountResource(email),
      );
      const tokenFile = join(dir, 'oidc-token');
      await writeFile(tokenFile, identity.subjectToken, { mode: 0o600 });
      // The file names Google's endpoints, as `gcloud iam workload-identity-pools create-cred-config` writes it;
      // the emulator environment redirects them.
      const config = await writeJson(join(dir, 'wif.json'), {
        type: 'external_account',
        audience: identity.audience,
        subject_token_type: identity.subjectTokenType,
        token_url: 'https://sts.googleapis.com/v1/token',
        service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${email}:generateAccessToken`,
        credential_source: { file: tokenFile },
      });
      return {
        strategy: workloadIdentity({ ...options, credentialConfig: config }),
        env: emulatorEnv(emulator),
        member: email,
        expected: {
          principal: email,
          projectId: emulator.projectId,
          region: undefined,
          source: new RegExp(
            `^workload identity federation \\(${identity.audience.replace(/[/.]/g, '\\$&')}\\) as ${email} from .*wif\\.json$`,
          ),
        },
        tokenCounter: 'sts.token',
        secrets: [identity.subjectToken],
        impersonationCallsPerToken: 1,
      };
    },
    async declines() {
      return { strategy: workloadIdentity(), env: emulatorEnv(emulator), reason: /METADATA_SERVER_DETECTION=none/ };
    },
  },
  get,
);

strategyConformance(
  {
    title: 'auto() answering with gcloud ADC',
    name: 'gcloud-adc',
    strategyName: 'auto',
    async applies({ dir, options }) {
      const email = `bo-${++n}@example.com`;
      const user = emulator.iam.createUser(email, { permissions: [LIST_JOBS] });
      const root = await gcloudDir(dir, user);
      return {
        strategy: auto(options),
        env: emulatorEnv(emulator, { CLOUDSDK_CONFIG: root, GOOGLE_CLOUD_REGION: 'us-west1' }),
        member: `user:${email}`,
        expected: {
          principal: undefined,
          projectId: 'adc-proj',
          region: 'us-west1',
          source: /^gcloud application-default credentials/,
        },
        tokenCounter: 'oauth2.token',
        secrets: [user.refresh_token, user.client_secret],
      };
    },
    async declines({ dir }) {
      // The chain has nothing more to fall back to: one error lists every strategy and why it declined.
      return {
        strategy: auto(),
        env: baseEnv({ CLOUDSDK_CONFIG: dir }),
        error:
          /No credentials found\. Tried, in order:\n {2}- environment: none of .*\n {2}- gcloud-adc: .*does not exist.*\n {2}- workload-identity: metadata server detection is disabled/,
      };
    },
  },
  get,
);
