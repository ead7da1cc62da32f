import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { tempDir } from '../../../../test/helpers.js';
import { gcloudConfigDir, parseGcloudIni, readGcloudConfiguration } from './gcloud-config.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('gcloudConfigDir', () => {
  test('CLOUDSDK_CONFIG wins, else ~/.config/gcloud, else %APPDATA%\\gcloud on Windows', () => {
    expect(gcloudConfigDir({ CLOUDSDK_CONFIG: '/cfg/gcloud' }, '/home/ana', 'linux')).toBe('/cfg/gcloud');
    expect(gcloudConfigDir({}, '/home/ana', 'linux')).toBe('/home/ana/.config/gcloud');
    expect(gcloudConfigDir({}, '/Users/ana', 'darwin')).toBe('/Users/ana/.config/gcloud');
    expect(gcloudConfigDir({ APPDATA: 'C:/Users/ana/AppData/Roaming' }, 'C:/Users/ana', 'win32')).toBe(
      join('C:/Users/ana/AppData/Roaming', 'gcloud'),
    );
  });
});

describe('parseGcloudIni', () => {
  test('reads sections, keys, comments and colon separators', () => {
    expect(
      parseGcloudIni(
        '# comment\n[core]\naccount = ana@example.com\nproject=my-proj\n; other\n[compute]\nregion: europe-west4\n\n',
      ),
    ).toEqual({ core: { account: 'ana@example.com', project: 'my-proj' }, compute: { region: 'europe-west4' } });
  });
});

describe('readGcloudConfiguration', () => {
  async function gcloudDir(files: Record<string, string>) {
    const dir = await tempDir('vxl-gcloud-');
    cleanups.push(dir.cleanup);
    for (const [name, text] of Object.entries(files)) {
      await mkdir(join(dir.path, name, '..'), { recursive: true });
      await writeFile(join(dir.path, name), text);
    }
    return dir.path;
  }

  test('follows active_config to its properties file; ai/region beats compute/region', async () => {
    const dir = await gcloudDir({
      active_config: 'work\n',
      'configurations/config_default': '[core]\nproject = other\n',
      'configurations/config_work':
        '[core]\nproject = work-proj\naccount = ana@example.com\n[compute]\nregion = us-east1\n[ai]\nregion = europe-west4\n',
    });
    expect(await readGcloudConfiguration(dir, {})).toEqual({
      name: 'work',
      file: join(dir, 'configurations', 'config_work'),
      project: 'work-proj',
      account: 'ana@example.com',
      region: 'europe-west4',
      regionProperty: 'ai/region',
    });
  });

  test('CLOUDSDK_ACTIVE_CONFIG_NAME and CLOUDSDK_* properties override the files, as in gcloud', async () => {
    const dir = await gcloudDir({
      active_config: 'work',
      'configurations/config_ci': '[core]\nproject = ci-proj\n[compute]\nregion = us-east1\n',
    });
    const config = await readGcloudConfiguration(dir, {
      CLOUDSDK_ACTIVE_CONFIG_NAME: 'ci',
      CLOUDSDK_CORE_PROJECT: 'env-proj',
    });
    expect(config).toMatchObject({
      name: 'ci',
      project: 'env-proj',
      region: 'us-east1',
      regionProperty: 'compute/region',
    });
  });

  test('a missing folder yields the default configuration with no properties', async () => {
    expect(await readGcloudConfiguration('/nonexistent/vxl/gcloud', {})).toMatchObject({
      name: 'default',
      project: undefined,
      region: undefined,
    });
  });
});
