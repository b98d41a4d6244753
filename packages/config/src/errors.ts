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
  /**
   * The command-line override that gave the value, as written (`trainer.batch_size=0`), when the
   * problem is a value from the command line rather than from a file.
   */
  override?: string | undefined;
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
  /** The command-line override that gave the bad value, as written. */
  readonly override?: string;

  constructor(reason: string, where: ConfigErrorLocation = {}) {
    super(formatLocation(where) + reason, where.cause === undefined ? undefined : { cause: where.cause });
    this.reason = reason;
    if (where.configPath !== undefined && where.configPath !== '') this.configPath = where.configPath;
    if (where.file !== undefined) this.file = where.file;
    if (where.line !== undefined) this.line = where.line;
    if (where.column !== undefined) this.column = where.column;
    if (where.override !== undefined) this.override = where.override;
  }
}

/** A file path as a person wants to read it: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  if (!path.isAbsolute(file)) return file;
  const rel = path.relative(process.cwd(), file);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return file;
  return rel;
}

/** The dotted key an override sets (`trainer.batch_size` for `+trainer.batch_size=0`). */
function overrideKey(override: string): string {
  const body = override.replace(/^[+~]/, '');
  const eq = body.indexOf('=');
  return (eq < 0 ? body : body.slice(0, eq)).trim();
}

function formatLocation(where: ConfigErrorLocation): string {
  if (where.override !== undefined) {
    let out = `${where.override} (command line): `;
    const { configPath } = where;
    if (configPath !== undefined && configPath !== '' && configPath !== overrideKey(where.override)) out += `${configPath}: `;
    return out;
  }
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
