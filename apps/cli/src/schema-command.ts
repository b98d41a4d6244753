import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadProjectConfig } from '@vaelab/config';
import { type ComponentKind, type ComponentRegistry, VaeLabError } from '@vaelab/core';
import { trainerSchema } from '@vaelab/trainers';
import { z } from 'zod';
import type { Io } from './io.js';
import { builtinRegistry, loadPlugins } from './registry.js';
import { runConfigSchema } from './schema.js';

/*
 * JSON Schema for config files, generated from the zod schemas: the run config's, and each
 * registered component's options (plugins included). A component block is an object whose `name`
 * picks the branch (if name is X then X's options); a block without `name` (an experiment that
 * only changes options of the group's choice) is left open. Editors with the YAML language server
 * read it from a `# yaml-language-server: $schema=...` line at the top of a file.
 */

type JsonSchema = Record<string, unknown>;

/** The component slots of a run config, each a config group of the same name. */
export const COMPONENT_SLOTS = ['data', 'encoder', 'decoder', 'prior', 'posterior', 'likelihood', 'objective'] as const satisfies readonly ComponentKind[];

const toJson = (schema: z.ZodType): JsonSchema => {
  const { $schema: _s, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return json;
};

/** Without `required` anywhere: an experiment file sets only the values that differ from its groups. */
function partial(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(partial);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(Object.entries(schema as JsonSchema).filter(([k]) => k !== 'required').map(([k, v]) => [k, partial(v)]));
}

/**
 * A component block of `kind`: `name` is one of the registered names, and when it is given, the
 * options are that component's (unknown keys rejected, as the registry does).
 */
export function componentSchema(registry: ComponentRegistry, kind: ComponentKind, opts: { partial?: boolean } = {}): JsonSchema {
  const defs = registry.list(kind);
  return {
    type: 'object',
    description: `${kind}: { name, ...options }; registered: ${defs.map((d) => d.name).join(', ')}`,
    properties: {
      name: { type: 'string', enum: defs.map((d) => d.name), description: `the ${kind} component` },
    },
    allOf: defs.map((def) => {
      const options = toJson(def.schema);
      const properties = {
        name: { const: def.name, description: def.description },
        ...((options.properties as JsonSchema | undefined) ?? {}),
        ...(SHARED_OPTIONS[kind] ?? {}),
      };
      const then: JsonSchema = { ...options, properties, additionalProperties: false, description: def.description };
      return {
        if: { properties: { name: { const: def.name } }, required: ['name'] },
        then: opts.partial ? partial(then) : { ...then, required: ['name', ...((options.required as string[] | undefined) ?? [])] },
      };
    }),
  };
}

/** The trainer block, its optimizer a component block of the registered optimizers. */
function trainerJson(registry: ComponentRegistry, opts: { partial?: boolean }): JsonSchema {
  // Partial before the optimizer block goes in: its `if` branches need their `required: ['name']`.
  const json = (opts.partial ? partial(toJson(trainerSchema)) : toJson(trainerSchema)) as JsonSchema;
  return { ...json, properties: { ...(json.properties as JsonSchema), optimizer: componentSchema(registry, 'optimizer', opts) } };
}

/**
 * Keys of a component block that the CLI reads itself rather than the component: `data.validation`
 * (the validation split carved out of any dataset, apps/cli/src/build.ts).
 */
const SHARED_OPTIONS: Partial<Record<ComponentKind, JsonSchema>> = {
  data: {
    validation: {
      description: 'examples carved out of the training split for validation: a count, a fraction in (0, 1), or null',
      anyOf: [{ type: 'integer', minimum: 1 }, { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 }, { type: 'null' }],
    },
  },
};

/** The schema of an experiment file: a defaults list, then any part of the run config. */
export function experimentSchema(registry: ComponentRegistry): JsonSchema {
  const run = partial(toJson(runConfigSchema)) as JsonSchema;
  const properties: JsonSchema = {
    defaults: {
      type: 'array',
      description: 'config group choices, later entries win: "- prior: vamp", "- group: null", "- _self_"',
      items: {
        anyOf: [
          { const: '_self_' },
          { type: 'object', minProperties: 1, maxProperties: 1, additionalProperties: { type: ['string', 'null'] } },
        ],
      },
    },
    ...(run.properties as JsonSchema),
    trainer: trainerJson(registry, { partial: true }),
  };
  for (const slot of COMPONENT_SLOTS) properties[slot] = componentSchema(registry, slot, { partial: true });
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'VAE Lab experiment file',
    description: 'An experiment: a defaults list of config group options plus the values that differ (vaelab schema).',
    ...run,
    properties,
  };
}

/** The schema of an option file of a config group: a full component block, or the trainer's options. */
export function groupSchema(registry: ComponentRegistry, group: string): JsonSchema {
  const body =
    group === 'trainer'
      ? trainerJson(registry, { partial: true })
      : (COMPONENT_SLOTS as readonly string[]).includes(group)
        ? componentSchema(registry, group as ComponentKind)
        : undefined;
  if (!body) throw new VaeLabError(`schema: no schema for the group '${group}'; groups: ${[...COMPONENT_SLOTS, 'trainer'].join(', ')}`);
  return { $schema: 'https://json-schema.org/draft/2020-12/schema', title: `VAE Lab ${group} option file`, ...body };
}

export interface SchemaFlags {
  group?: string;
  write?: string;
}

/** The file names `--write` uses: experiment.schema.json and <group>.schema.json. */
export const SCHEMA_FILES = ['experiment', ...COMPONENT_SLOTS, 'trainer'].map((n) => `${n}.schema.json`);

export async function schemaCommand(flags: SchemaFlags, io: Io): Promise<number> {
  const project = await loadProjectConfig(io.cwd);
  const registry = builtinRegistry();
  await loadPlugins(registry, project.plugins, project.root, project.filepath);
  const text = (s: JsonSchema) => `${JSON.stringify(s, null, 2)}\n`;
  if (flags.write) {
    const dir = resolve(io.cwd, flags.write);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'experiment.schema.json'), text(experimentSchema(registry)));
    for (const group of [...COMPONENT_SLOTS, 'trainer']) writeFileSync(join(dir, `${group}.schema.json`), text(groupSchema(registry, group)));
    io.out(`wrote ${SCHEMA_FILES.length} schema files to ${dir}`);
    return 0;
  }
  io.out(text(flags.group ? groupSchema(registry, flags.group) : experimentSchema(registry)).trimEnd());
  return 0;
}
