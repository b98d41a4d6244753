export { ConfigError, displayPath, type ConfigErrorLocation } from './errors.js';
export {
  loadProjectConfig,
  projectConfigSchema,
  PROJECT_CONFIG_FILES,
  PROJECT_MODULE_NAME,
  type ProjectConfig,
  type LoadedProjectConfig,
} from './project.js';
export {
  parseOverride,
  parseOverrides,
  parseOverrideValue,
  expandSweeps,
  isSweep,
  splitTopLevel,
  type Override,
  type OverrideKind,
  type PlainOverride,
  type SweepOverride,
  type SweepValue,
  type SweepForm,
  type GlobSweep,
  type ParseOverrideOptions,
} from './overrides.js';
export { applyOverride, applyOverrides } from './apply.js';
export {
  composeConfig,
  listExperiments,
  listGroups,
  listOptions,
  EXPERIMENT_DIR,
  type ComposeOptions,
  type ComposedConfig,
  type ConfigSearchPath,
} from './compose.js';
export { describeOrigin, type ValueOrigin, type OriginLookup } from './origin.js';
export { resolveInterpolations } from './interpolate.js';
export { validate, formatZodIssues, type ValidateWhere, type FormatIssuesOptions } from './validate.js';
export { toYaml, configHash, canonicalJson } from './serialize.js';
export { parseYaml, readYamlFile, type ParsedYaml } from './yaml.js';
