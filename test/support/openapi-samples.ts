/**
 * Builds request values from the server's own OpenAPI document, for tests that probe every route
 * and every field: a full sample of a schema (optional fields included, one item per array), and
 * the leaf paths of a sample to mutate one at a time.
 */

type Schema = Record<string, any>;

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

export interface Operation {
  parameters?: Array<{ name: string; in: 'query' | 'path' | 'header'; required?: boolean; schema?: Schema }>;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}

export class SampleBuilder {
  constructor(private readonly doc: OpenApiDocument) {}

  resolve(schema: Schema | undefined): Schema {
    let s = schema ?? {};
    for (let i = 0; i < 20 && s.$ref; i++) {
      const name = String(s.$ref).replace('#/components/schemas/', '');
      s = this.doc.components?.schemas?.[name] ?? {};
    }
    return s;
  }

  /** A value that satisfies the schema as far as this simple reading goes; optional fields included. */
  sample(schema: Schema | undefined, name = '', depth = 0): unknown {
    const s = this.resolve(schema);
    if (depth > 8) return null;
    if ('const' in s) return s.const;
    if (s.default !== undefined && (s.type === 'string' || s.enum)) return s.default;
    if (s.enum?.length) return s.enum.find((v: unknown) => v !== null) ?? s.enum[0];
    const variants = s.anyOf ?? s.oneOf;
    if (variants?.length) {
      const concrete = variants.map((v: Schema) => this.resolve(v)).filter((v: Schema) => v.type !== 'null');
      return this.sample(concrete[0] ?? variants[0], name, depth);
    }
    if (s.allOf?.length) return Object.assign({}, ...s.allOf.map((v: Schema) => this.sample(v, name, depth)));
    const type = Array.isArray(s.type) ? s.type.find((t: string) => t !== 'null') : s.type;
    switch (type) {
      case 'string':
        return this.sampleString(s, name);
      case 'integer':
        return Math.max(s.minimum ?? 1, Math.min(s.maximum ?? 1, 1));
      case 'number':
        return Math.max(s.minimum ?? 0.5, Math.min(s.maximum ?? 0.5, 0.5));
      case 'boolean':
        return false;
      case 'array':
        return [this.sample(s.items, name, depth + 1)];
      case 'object':
      case undefined: {
        if (!s.properties && type === undefined) return 'x';
        const out: Record<string, unknown> = {};
        const required = new Set<string>(s.required ?? []);
        for (const [key, prop] of Object.entries<Schema>(s.properties ?? {})) {
          // Streaming changes how the route answers, not what it accepts; an optional reference
          // to a resource (conversation_id, file_ids…) would only make the probe a 404.
          if (key === 'stream' || (!required.has(key) && /_ids?$/.test(key))) continue;
          out[key] = this.sample(prop, key, depth + 1);
        }
        if (!s.properties && s.additionalProperties) out.key = this.sample(s.additionalProperties, 'key', depth + 1);
        return out;
      }
      default:
        return null;
    }
  }

  private sampleString(s: Schema, name: string): string {
    if (s.format === 'uuid' || /(^|_)id$/.test(name)) return '01900000-0000-7000-8000-000000000000';
    if (s.format === 'email') return 'someone@example.com';
    if (s.format === 'date-time' || s.format === 'date') return '2026-01-01';
    if (s.format === 'uri' || name === 'url') return 'https://example.com/x.png';
    if (s.pattern) return 'auto';
    const min = s.minLength ?? 1;
    return 'x'.repeat(Math.max(1, min));
  }
}

export interface Leaf {
  path: Array<string | number>;
  value: unknown;
}

/** Every value reachable in a sample, containers included (so objects can be replaced too). */
export function leaves(value: unknown, path: Array<string | number> = []): Leaf[] {
  const out: Leaf[] = path.length ? [{ path, value }] : [];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...leaves(v, [...path, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...leaves(v, [...path, k]));
  return out;
}

/** A deep copy of `value` with the value at `path` replaced. */
export function replaced(value: unknown, path: Array<string | number>, next: unknown): unknown {
  if (!path.length) return next;
  const copy: any = Array.isArray(value) ? [...value] : { ...(value as object) };
  copy[path[0]] = replaced(copy[path[0]], path.slice(1), next);
  return copy;
}

/** An object nested `depth` levels deep, built without recursion. */
export function deeplyNested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}
