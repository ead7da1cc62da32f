// `@vertex-launch/core/agent`: the launch agent (drains queues into jobs) and its config (launch-config.yaml).
export * from './agent.js';
export * from './config.js';
export * from './outage.js';
