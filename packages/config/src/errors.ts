import path from 'node:path';

/** Where a config problem is: a file position and/or a dotted config path. */
export interface ConfigErrorLocation {
  /** Dotted path inside the config, e.g. `prior.components`. */
  configPath?: string | undefined;
  /** File the problem is in (absolute or relative). */
  file?: string | undefined;
  /** 1-based line in `file`. */
  line?: number | undefined;
  /** 1-based column in `file`. */
  column?: number | undefined;
  /** The underlying error, when this one wraps another. */
  cause?: unknown;
}

/**
 * Every problem this package reports. The message reads
 * `<file>:<line>:<column>: <configPath>: <reason>` (parts that are unknown are left out), and
 * the reason says what was wrong and, where there is a closed set, what is allowed.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** The message without the location prefix. */
  readonly reason: string;
  readonly configPath?: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;

  constructor(reason: string, where: ConfigErrorLocation = {}) {
    super(formatLocation(where) + reason, where.cause === undefined ? undefined : { cause: where.cause });
    this.reason = reason;
    if (where.configPath !== undefined && where.configPath !== '') this.configPath = where.configPath;
    if (where.file !== undefined) this.file = where.file;
    if (where.line !== undefined) this.line = where.line;
    if (where.column !== undefined) this.column = where.column;
  }
}

/** A file path as a person wants to read it: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  if (!path.isAbsolute(file)) return file;
  const rel = path.relative(process.cwd(), file);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return file;
  return rel;
}

function formatLocation(where: ConfigErrorLocation): string {
  let out = '';
  if (where.file !== undefined) {
    out += displayPath(where.file);
    if (where.line !== undefined) {
      out += `:${where.line}`;
      if (where.column !== undefined) out += `:${where.column}`;
    }
    out += ': ';
  }
  if (where.configPath !== undefined && where.configPath !== '') out += `${where.configPath}: `;
  return out;
}
