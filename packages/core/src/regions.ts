/**
 * Vertex AI regions, and the check of a region a user gave (a flag, an environment variable, a config file): a
 * malformed one (`US-CENTRAL1`, `us central1`) is an error, one that is well formed but not a Vertex AI region this
 * list knows (`us-centrl1`, or a region newer than the list) a warning with a did-you-mean; both name where the
 * region came from. Pure: the CLI, the SDK and doctor call it wherever a region enters.
 *
 * Source: "Vertex AI locations" (https://cloud.google.com/vertex-ai/docs/general/locations): the regional endpoints
 * `https://<region>-aiplatform.googleapis.com` and "Vertex AI doesn't support a global location".
 */
import { nearestByEditDistance } from './config/suggest.js';

/** The regions of https://cloud.google.com/vertex-ai/docs/general/locations, by continent as the page lists them. */
export const VERTEX_AI_REGIONS: readonly string[] = Object.freeze([
  // United States
  'us-central1',
  'us-east1',
  'us-east4',
  'us-east5',
  'us-south1',
  'us-west1',
  'us-west2',
  'us-west3',
  'us-west4',
  // Canada
  'northamerica-northeast1',
  'northamerica-northeast2',
  // South America
  'southamerica-east1',
  'southamerica-west1',
  // Europe
  'europe-central2',
  'europe-north1',
  'europe-southwest1',
  'europe-west1',
  'europe-west2',
  'europe-west3',
  'europe-west4',
  'europe-west6',
  'europe-west8',
  'europe-west9',
  'europe-west12',
  // Asia Pacific
  'asia-east1',
  'asia-east2',
  'asia-northeast1',
  'asia-northeast2',
  'asia-northeast3',
  'asia-south1',
  'asia-southeast1',
  'asia-southeast2',
  'australia-southeast1',
  'australia-southeast2',
  // Middle East
  'me-central1',
  'me-central2',
  'me-west1',
  // Africa
  'africa-south1',
]);

/** The shape of a Google Cloud region name: `<area>-<direction><number>`. */
export const REGION_NAME_PATTERN = /^[a-z]+(?:-[a-z]+)+\d+$/;

/** What {@link checkRegion} found. */
export interface RegionCheck {
  /** The region as given. */
  region: string;
  /** `error`: malformed, every call would fail. `warning`: well formed but not a region this list knows. */
  severity?: 'error' | 'warning';
  /** The problem with the fix, naming where the region came from; undefined when the region is known. */
  message?: string;
  /** The region the user probably meant, when one is close. */
  suggestion?: string;
}

/**
 * Checks a region against {@link VERTEX_AI_REGIONS}. `source` says where it came from, for the message:
 * `--region`, `GOOGLE_CLOUD_REGION`, `environment.region in launch-config.yaml`, ...
 */
export function checkRegion(region: string, source?: string): RegionCheck {
  if (VERTEX_AI_REGIONS.includes(region)) return { region };
  const from = source ? ` (from ${source})` : '';
  const shown = region.length > 60 ? `${region.slice(0, 60)}…` : region;
  const normalised = region
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, '-');
  const suggestion = VERTEX_AI_REGIONS.includes(normalised)
    ? normalised
    : nearestByEditDistance(normalised, VERTEX_AI_REGIONS)[0];
  const meant = suggestion ? ` Did you mean \`${suggestion}\`?` : '';
  const where = source ? ` Change it where it is set: ${source}.` : '';
  if (region.trim() === '') {
    return {
      region,
      severity: 'error',
      message: `The region${from} is empty: set a Vertex AI region such as us-central1.`,
    };
  }
  if (region === 'global') {
    return {
      region,
      severity: 'error',
      message: `The region${from} is \`global\`, but Vertex AI custom training runs in a region (there is no global location), e.g. us-central1.${where}`,
    };
  }
  if (!REGION_NAME_PATTERN.test(region)) {
    return {
      region,
      severity: 'error',
      message: `\`${shown}\`${from} is not a region name: regions are lowercase, like us-central1.${meant}${where}`,
      ...(suggestion ? { suggestion } : {}),
    };
  }
  return {
    region,
    severity: 'warning',
    message: `\`${shown}\`${from} is not a Vertex AI region (https://cloud.google.com/vertex-ai/docs/general/locations).${meant}${where}`,
    ...(suggestion ? { suggestion } : {}),
  };
}
