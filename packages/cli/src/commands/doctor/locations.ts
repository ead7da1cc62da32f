/**
 * Which Cloud Storage and Artifact Registry locations suit jobs of a Vertex AI region: the region itself, the
 * multi-region of its continent (`US` holds `us-*`, `EU` holds `europe-*`, `ASIA` holds `asia-*`) and the predefined
 * dual-regions made of it. Pure.
 */

/** Cloud Storage multi-regions and the Vertex region prefixes they hold. */
const MULTI_REGIONS: Readonly<Record<string, string>> = { us: 'us-', eu: 'europe-', asia: 'asia-' };
/** Artifact Registry spells its multi-regions `us`, `europe`, `asia`. */
const AR_MULTI_REGIONS: Readonly<Record<string, string>> = { us: 'us-', europe: 'europe-', asia: 'asia-' };
/** Predefined Cloud Storage dual-regions and the regions they are made of. */
const DUAL_REGIONS: Readonly<Record<string, readonly string[]>> = {
  nam4: ['us-central1', 'us-east1'],
  eur4: ['europe-north1', 'europe-west4'],
  asia1: ['asia-northeast1', 'asia-northeast2'],
};

/** True when a bucket in `location` (as Cloud Storage reports it, e.g. `US-CENTRAL1`, `US`, `NAM4`) suits `region`. */
export function bucketLocationFits(location: string, region: string): boolean {
  const l = location.toLowerCase();
  if (l === region) return true;
  const prefix = MULTI_REGIONS[l];
  if (prefix) return region.startsWith(prefix);
  return DUAL_REGIONS[l]?.includes(region) ?? false;
}

/** The bucket locations that suit `region`, for messages: `US-CENTRAL1, US (multi-region), NAM4 (dual-region)`. */
export function acceptableBucketLocations(region: string): string[] {
  const out = [region.toUpperCase()];
  for (const [name, prefix] of Object.entries(MULTI_REGIONS)) {
    if (region.startsWith(prefix)) out.push(`${name.toUpperCase()} (multi-region)`);
  }
  for (const [name, regions] of Object.entries(DUAL_REGIONS)) {
    if (regions.includes(region)) out.push(`${name.toUpperCase()} (dual-region)`);
  }
  return out;
}

/** True when an Artifact Registry repository in `location` (`us-central1`, `us`, `europe`) suits `region`. */
export function repositoryLocationFits(location: string, region: string): boolean {
  if (location === region) return true;
  const prefix = AR_MULTI_REGIONS[location];
  return prefix !== undefined && region.startsWith(prefix);
}

/** The repository locations that suit `region`, for messages: `us-central1, us (multi-region)`. */
export function acceptableRepositoryLocations(region: string): string[] {
  const out = [region];
  for (const [name, prefix] of Object.entries(AR_MULTI_REGIONS)) {
    if (region.startsWith(prefix)) out.push(`${name} (multi-region)`);
  }
  return out;
}
