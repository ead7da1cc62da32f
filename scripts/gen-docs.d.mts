// Types of scripts/gen-docs.mjs for the tests that import it.
export const repoRoot: string;
export const GENERATED: readonly string[];
export interface DocsPartials {
  intro: string;
  examples: string;
  agent: string;
}
export function readPartials(root?: string): DocsPartials;
export function renderDocs(input: { core: unknown; cli: unknown; partials?: DocsPartials }): Record<string, string>;
export function schemaRows(
  schema: object,
  prefix?: string,
): Array<{ path: string; type: string; required: boolean; default: unknown; description: string }>;
export function allCommands<C extends { readonly commands: readonly C[] }>(
  program: C,
): Array<{ name: string; command: C }>;
