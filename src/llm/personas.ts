import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../config/config.loader.js';

const samplingDefaults = z.strictObject({
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  max_tokens: z.number().int().positive().optional(),
  frequency_penalty: z.number().min(-2).max(2).optional(),
  presence_penalty: z.number().min(-2).max(2).optional(),
});

const personaSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9_-]+\/[a-z0-9_.-]+$/, 'persona ids look like family/name'),
  name: z.string().min(1),
  description: z.string().min(1),
  /** The model the persona runs on; DEFAULT_MODEL when absent. */
  model: z.string().min(1).nullish(),
  system_prompt: z.string().min(1),
  defaults: samplingDefaults.default({}),
});

export type Persona = z.infer<typeof personaSchema>;
export type SamplingDefaults = z.infer<typeof samplingDefaults>;

/** Reads every *.yaml / *.yml persona in `dir`, validated; a bad file stops the server, naming it. */
export function loadPersonas(dir: string): Persona[] {
  if (!existsSync(dir)) return [];
  const personas: Persona[] = [];
  const seen = new Set<string>();
  for (const file of readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    const path = join(dir, file);
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new ConfigError(`${path}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
    }
    const parsed = personaSchema.safeParse(doc);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ConfigError(`${path}: ${issue.path.join('.') || 'persona'}: ${issue.message}`);
    }
    if (seen.has(parsed.data.id)) throw new ConfigError(`${path}: persona ${parsed.data.id} is defined twice`);
    seen.add(parsed.data.id);
    personas.push(parsed.data);
  }
  return personas;
}

/** The family Smart-Host's prompt profiles live in: its `profile: "programmer"` is the persona smart-host/programmer. */
export const SMART_HOST_FAMILY = 'smart-host';

/**
 * A Smart-Host `profiles.json` (`{"<name>": {"system": "…"}}`), when the file exists: each profile
 * becomes the persona smart-host/<name> (replacing a shipped one of that name). A bad file stops
 * the server, naming it.
 */
export function loadSmartHostProfiles(path: string): Persona[] {
  if (!existsSync(path)) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = z.record(z.string().regex(/^[a-z0-9_.-]+$/i), z.looseObject({ system: z.string().min(1) })).safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${path}: ${issue.path.join('.') || 'profiles'}: ${issue.message}`);
  }
  return Object.entries(parsed.data).map(([name, profile]) => ({
    id: `${SMART_HOST_FAMILY}/${name.toLowerCase()}`,
    name: `Smart-Host ${name}`,
    description: `The Smart-Host profile ${name} (profiles.json).`,
    system_prompt: profile.system,
    defaults: {},
  }));
}

/** Personas with later ones replacing earlier ones of the same id. */
export function mergePersonas(...lists: Persona[][]): Persona[] {
  const byId = new Map<string, Persona>();
  for (const persona of lists.flat()) byId.set(persona.id, persona);
  return [...byId.values()];
}
