export type {
  Dashboard,
  DashboardCheck,
  DashboardLogLine,
  DashboardOptions,
  DashboardRunnerTarget,
} from './options.js';
export { startDashboard, type ValidateAnswer, validateConfigText } from './server.js';
