// The example of packages/cli/README.md, run by readme-example.test.ts (which checks that the README shows exactly
// the code between the readme-example markers).
// readme-example:start
import { ExitCode, type Io, main, processIo } from '@vertex-launch/cli';
// readme-example:end

export async function example() {
  // readme-example:start
  // `vertex-launch queue validate queue.yaml --json`, in-process, with stdout captured.
  let output = '';
  const io: Io = { ...processIo(), stdout: (text) => (output += text) };
  const exitCode = await main(['node', 'vertex-launch', 'queue', 'validate', 'queue.yaml', '--json'], io);
  const report = JSON.parse(output); // { valid, file, issues: [{ path, message, severity }] }
  if (exitCode !== ExitCode.OK) for (const issue of report.issues) console.log(`${issue.path}: ${issue.message}`);
  // readme-example:end
  return { exitCode, report };
}
