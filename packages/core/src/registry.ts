import { z } from 'zod';
import type { ComponentKind, ComponentKinds } from './contracts.js';
import { ComponentConfigError } from './errors.js';
import { type KLRule, registerKL } from './kl.js';

/* The component registry: kind + name + zod schema of options + factory (DESIGN §3). */

export interface ComponentDefinition<K extends ComponentKind = ComponentKind, S extends z.ZodObject = z.ZodObject> {
  readonly kind: K;
  readonly name: string;
  readonly description: string;
  /** Options besides `name`. Unknown keys are rejected. */
  readonly schema: S;
  create(options: z.output<S>, ctx: ComponentKinds[K]['context']): ComponentKinds[K]['instance'];
}

/** Identity with types: a component is a plain value; registering it is the caller's act. */
export function defineComponent<K extends ComponentKind, S extends z.ZodObject>(
  def: ComponentDefinition<K, S>,
): ComponentDefinition<K, S> {
  return def;
}

/** What a package offers: its components and its analytic KL rules. */
export interface ComponentPackage {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly components?: readonly ComponentDefinition<any, any>[];
  readonly klRules?: readonly KLRule[];
}

/** One option of a component, as `vaelab list` prints it. */
export interface OptionInfo {
  name: string;
  type: string;
  required: boolean;
  default?: unknown;
  description?: string;
}

function joinPath(base: string, rest: readonly PropertyKey[]): string {
  return [base, ...rest.map(String)].filter((s) => s !== '').join('.');
}

/** Zod issues as lines `path: message`, with allowed keys spelled out for unknown ones. */
export function formatIssues(error: z.ZodError, basePath: string, allowedKeys?: string[]): string {
  return error.issues
    .map((issue) => {
      const where = joinPath(basePath, issue.path);
      if (issue.code === 'unrecognized_keys') {
        const allowed = allowedKeys && allowedKeys.length ? allowedKeys.join(', ') : '(none)';
        return `${where || '<root>'}: unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys
          .map((k) => `'${k}'`)
          .join(', ')}; allowed: ${allowed}`;
      }
      return `${where || '<root>'}: ${issue.message}`;
    })
    .join('\n');
}

/** Turns a failed option check into message lines; `schema` is the component's options schema. */
export type IssueFormatter = (error: z.ZodError, configPath: string, schema: z.ZodObject, input: unknown) => string;

const defaultFormatter: IssueFormatter = (error, configPath, schema) => formatIssues(error, configPath, Object.keys(schema.shape));

export class ComponentRegistry {
  private readonly byKind = new Map<ComponentKind, Map<string, ComponentDefinition>>();

  /**
   * @param formatIssues how option errors are worded; the CLI passes @vaelab/config's formatter so
   *   that every config error reads alike. The default lists `path: message` per issue.
   */
  constructor(private readonly formatIssues: IssueFormatter = defaultFormatter) {}

  register(def: ComponentDefinition): this {
    let m = this.byKind.get(def.kind);
    if (!m) this.byKind.set(def.kind, (m = new Map()));
    if (m.has(def.name)) throw new Error(`a ${def.kind} named '${def.name}' is already registered`);
    m.set(def.name, def);
    return this;
  }

  /** Register everything a package offers (components and KL rules). */
  use(pkg: ComponentPackage): this {
    for (const c of pkg.components ?? []) this.register(c);
    for (const r of pkg.klRules ?? []) registerKL(r.q, r.p, r.fn);
    return this;
  }

  names(kind: ComponentKind): string[] {
    return [...(this.byKind.get(kind)?.keys() ?? [])].sort();
  }

  list(kind?: ComponentKind): ComponentDefinition[] {
    const kinds = kind ? [kind] : [...this.byKind.keys()];
    return kinds.flatMap((k) => [...(this.byKind.get(k)?.values() ?? [])].sort((a, b) => a.name.localeCompare(b.name)));
  }

  get<K extends ComponentKind>(kind: K, name: string, configPath = kind as string): ComponentDefinition<K> {
    const def = this.byKind.get(kind)?.get(name);
    if (!def) {
      const names = this.names(kind);
      throw new ComponentConfigError(
        `${configPath}.name: unknown ${kind} '${name}'; registered ${kind} components: ${names.length ? names.join(', ') : '(none)'}`,
        `${configPath}.name`,
      );
    }
    return def as unknown as ComponentDefinition<K>;
  }

  /**
   * Validate a config block `{ name, ...options }` at `configPath` and return the definition with
   * parsed options (defaults filled in). Throws ComponentConfigError naming the path.
   */
  resolve<K extends ComponentKind>(
    kind: K,
    block: unknown,
    configPath: string = kind,
  ): { def: ComponentDefinition<K>; options: Record<string, unknown> } {
    if (block === null || typeof block !== 'object' || Array.isArray(block)) {
      throw new ComponentConfigError(
        `${configPath}: expected a mapping with a 'name' (one of: ${this.names(kind).join(', ')}), got ${JSON.stringify(block)}`,
        configPath,
      );
    }
    const { name, ...rest } = block as Record<string, unknown>;
    if (typeof name !== 'string') {
      throw new ComponentConfigError(
        `${configPath}.name: required string naming the ${kind}; registered: ${this.names(kind).join(', ')}`,
        `${configPath}.name`,
      );
    }
    const def = this.get(kind, name, configPath);
    const parsed = def.schema.strict().safeParse(rest);
    if (!parsed.success) {
      throw new ComponentConfigError(
        `invalid options for ${kind} '${name}':\n${this.formatIssues(parsed.error, configPath, def.schema, rest)}`,
        configPath,
      );
    }
    return { def, options: parsed.data as Record<string, unknown> };
  }

  /** Resolve and create. */
  build<K extends ComponentKind>(
    kind: K,
    block: unknown,
    ctx: ComponentKinds[K]['context'],
    configPath: string = kind,
  ): ComponentKinds[K]['instance'] {
    const { def, options } = this.resolve(kind, block, configPath);
    return def.create(options as never, ctx);
  }

  /** Options of a component with their types and defaults, from its schema. */
  static options(def: ComponentDefinition): OptionInfo[] {
    const json = z.toJSONSchema(def.schema, { io: 'input', unrepresentable: 'any' }) as {
      properties?: Record<string, { type?: string | string[]; default?: unknown; description?: string; enum?: unknown[]; anyOf?: { type?: string }[]; items?: { type?: string } }>;
      required?: string[];
    };
    return Object.entries(json.properties ?? {}).map(([name, p]) => {
      let type = Array.isArray(p.type) ? p.type.join('|') : (p.type ?? '');
      if (p.enum) type = p.enum.map((v) => JSON.stringify(v)).join('|');
      else if (p.anyOf) type = p.anyOf.map((a) => a.type ?? '?').join('|');
      else if (type === 'array' && p.items?.type) type = `${p.items.type}[]`;
      const info: OptionInfo = { name, type: type || 'any', required: (json.required ?? []).includes(name) && p.default === undefined };
      if (p.default !== undefined) info.default = p.default;
      if (p.description) info.description = p.description;
      return info;
    });
  }
}
