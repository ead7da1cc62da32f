/**
 * Which Google APIs are enabled on the emulated project (Service Usage). Every API starts enabled unless the
 * emulator's `disabledServices` option names it; a call to a disabled API is refused as Google refuses it:
 * PERMISSION_DENIED, "... API has not been used in project N before or it is disabled ... (SERVICE_DISABLED)".
 */
import { EmulatorError } from './context.js';

/** The APIs the emulator knows, with their titles. */
export const KNOWN_SERVICES: Readonly<Record<string, string>> = Object.freeze({
  'aiplatform.googleapis.com': 'Vertex AI API',
  'artifactregistry.googleapis.com': 'Artifact Registry API',
  'cloudbuild.googleapis.com': 'Cloud Build API',
  'storage.googleapis.com': 'Cloud Storage API',
  'logging.googleapis.com': 'Cloud Logging API',
  'iam.googleapis.com': 'Identity and Access Management (IAM) API',
  'iamcredentials.googleapis.com': 'IAM Service Account Credentials API',
  'cloudresourcemanager.googleapis.com': 'Cloud Resource Manager API',
  'serviceusage.googleapis.com': 'Service Usage API',
  'policytroubleshooter.googleapis.com': 'Policy Troubleshooter API',
});

/** The API a permission-named method belongs to (`aiplatform.customJobs.create` -> aiplatform.googleapis.com). */
const METHOD_SERVICE: Readonly<Record<string, string>> = {
  aiplatform: 'aiplatform.googleapis.com',
  artifactregistry: 'artifactregistry.googleapis.com',
  cloudbuild: 'cloudbuild.googleapis.com',
  storage: 'storage.googleapis.com',
  logging: 'logging.googleapis.com',
};

/** The enabled/disabled state of the project's APIs. */
export class ServiceUsageModel {
  private readonly disabled = new Set<string>();

  constructor(private readonly options: { projectNumber: string; disabled?: readonly string[]; onChange(): void }) {
    for (const name of options.disabled ?? []) this.disabled.add(ServiceUsageModel.known(name));
  }

  /** Throws PERMISSION_DENIED for a service the emulator does not know, as Service Usage answers. */
  static known(name: string): string {
    if (!(name in KNOWN_SERVICES)) {
      throw new EmulatorError(
        'PERMISSION_DENIED',
        `Not found or permission denied for service(s): ${name}. The emulator knows ${Object.keys(KNOWN_SERVICES).join(', ')}.`,
      );
    }
    return name;
  }

  isEnabled(name: string): boolean {
    return !this.disabled.has(ServiceUsageModel.known(name));
  }

  enable(name: string): void {
    if (this.disabled.delete(ServiceUsageModel.known(name))) this.options.onChange();
  }

  disable(name: string): void {
    const known = ServiceUsageModel.known(name);
    if (this.disabled.has(known)) return;
    this.disabled.add(known);
    this.options.onChange();
  }

  /** Throws SERVICE_DISABLED when the API of `method` (e.g. `aiplatform.customJobs.list`) is disabled. */
  requireEnabledFor(method: string): void {
    const service = METHOD_SERVICE[method.split('.')[0] ?? ''];
    if (!service || !this.disabled.has(service)) return;
    const n = this.options.projectNumber;
    throw new EmulatorError(
      'PERMISSION_DENIED',
      `${KNOWN_SERVICES[service]} has not been used in project ${n} before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/${service}/overview?project=${n} then retry. (reason: SERVICE_DISABLED)`,
    );
  }

  toJSON(): string[] {
    return [...this.disabled].sort();
  }

  load(saved: unknown): void {
    if (!Array.isArray(saved)) return;
    this.disabled.clear();
    for (const name of saved) if (typeof name === 'string' && name in KNOWN_SERVICES) this.disabled.add(name);
  }
}
