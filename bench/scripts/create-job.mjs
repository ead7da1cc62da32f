// The launch-latency baseline: the least a Node program can do to submit a CustomJob — construct the aiplatform
// JobServiceClient (pointed at the emulator from its environment variables) and call createCustomJob once.
// Usage: node create-job.mjs <request.json>   (request: { parent, customJob })
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../packages/vertex/package.json', import.meta.url));
const { v1 } = require('@google-cloud/aiplatform');
const { grpc } = require(require.resolve('google-gax', { paths: [require.resolve('@google-cloud/aiplatform')] }));

const env = process.env;
const [host, port] = env.VERTEX_LAUNCH_EMULATOR_GRPC.split(':');
const token = env.GOOGLE_OAUTH_ACCESS_TOKEN;
const client = new v1.JobServiceClient({
  apiEndpoint: host,
  port: Number(port),
  sslCreds: grpc.credentials.combineChannelCredentials(
    grpc.credentials.createSsl(readFileSync(env.VERTEX_LAUNCH_EMULATOR_CA)),
    grpc.credentials.createFromMetadataGenerator((_params, callback) => {
      const metadata = new grpc.Metadata();
      metadata.add('authorization', `Bearer ${token}`);
      callback(null, metadata);
    }),
  ),
  universeDomain: 'googleapis.com',
  'grpc.ssl_target_name_override': 'localhost',
});
const request = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const [job] = await client.createCustomJob(request);
await client.close();
console.log(JSON.stringify({ name: job.name }));
