// Install-time settings the project supplies itself, so `pnpm install` works on a fresh machine with no
// environment variables and no ~/.npmrc.
//
// better-sqlite3 (the embedded queue store) ships prebuilt binaries, but its download host is often unreachable
// (CI, air-gapped machines); it then falls back to node-gyp, and node-gyp downloads Node's headers unless it is
// told where they are. npm passes its `nodedir` setting to install scripts; pnpm 12 does not, so this hook hands
// node-gyp the headers of the Node that runs the install (Debian's /usr and the official tarballs both ship
// include/node). An explicit npm_config_nodedir in the environment wins.
const { existsSync } = require('node:fs');
const { dirname, join } = require('node:path');

function nodeHeadersPrefix() {
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, 'include', 'node', 'node_version.h')) ? prefix : undefined;
}

module.exports = {
  hooks: {
    updateConfig(config) {
      const prefix = nodeHeadersPrefix();
      if (prefix === undefined || process.env.npm_config_nodedir) return config;
      return { ...config, extraEnv: { ...config.extraEnv, npm_config_nodedir: prefix } };
    },
  },
};
