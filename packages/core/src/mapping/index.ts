// `@vertex-launch/core/mapping`: a resolved queue config to Vertex AI's CreateCustomJobRequest (pure), and its REST
// JSON form (what `launch --dry-run --json` prints).
export * from './custom-job.js';
export * from './prices.js';
export * from './rest-json.js';
export * from './spend.js';
