// The example of packages/auth/README.md, run by readme-example.test.ts against the emulator (which checks that
// the README shows exactly the code between the readme-example markers).
// readme-example:start
import { auto, checkPermissions, resolveCredentials } from '@vertex-launch/auth';
// readme-example:end

export async function example() {
  // readme-example:start
  const credentials = await resolveCredentials(auto());
  console.log(`${credentials.strategy}: ${credentials.source}`); // never prints a secret

  // Pass credentials.authClient as `authClient` to any @google-cloud/* client, or take a token (cached, refreshed
  // before it expires, one refresh at a time) — e.g. the password of `docker login -u oauth2accesstoken`:
  const { token } = await credentials.accessToken();

  // Which of the permissions a launch needs are missing in the credentials' project?
  const report = await checkPermissions(credentials);
  for (const check of report.missing) console.log(`missing ${check.permission}: ${check.purpose}`);
  // readme-example:end
  return { credentials, token, report };
}
