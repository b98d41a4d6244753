import fs from 'node:fs';
import { LineCounter, isNode, parseDocument, type Document, type YAMLError } from 'yaml';
import { ConfigError } from './errors.js';
import { isMapping, type Mapping } from './util.js';

/** A parsed YAML text, with what is needed to point at a line later. */
export interface ParsedYaml {
  value: unknown;
  doc: Document;
  lineCounter: LineCounter;
  file: string | undefined;
}

/** The yaml package's message without its own "at line …" suffix and code excerpt. */
function shortYamlMessage(err: YAMLError): string {
  const first = err.message.split('\n')[0] ?? err.message;
  return first.replace(/ at line \d+, column \d+:?$/, '');
}

/** Parse YAML text; a syntax error becomes a ConfigError naming file, line and column. */
export function parseYaml(text: string, file?: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const err = doc.errors[0];
  if (err !== undefined) {
    const pos = err.linePos?.[0];
    throw new ConfigError(`YAML syntax error: ${shortYamlMessage(err)}`, {
      file,
      line: pos?.line,
      column: pos?.col,
      cause: err,
    });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (cause) {
    throw new ConfigError(`cannot read YAML: ${(cause as Error).message}`, { file, cause });
  }
  return { value, doc, lineCounter, file };
}

/** Read and parse a YAML file. */
export function readYamlFile(file: string): ParsedYaml {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new ConfigError(code === 'ENOENT' ? 'file not found' : `cannot read file: ${(cause as Error).message}`, {
      file,
      cause,
    });
  }
  return parseYaml(text, file);
}

/**
 * The top-level mapping of a parsed YAML file. An empty file (or one with only comments) is an
 * empty mapping; any other non-mapping top level is an error naming the file.
 */
export function topLevelMapping(parsed: ParsedYaml): Mapping {
  const { value } = parsed;
  if (value === null || value === undefined) return {};
  if (!isMapping(value)) {
    const kind = Array.isArray(value) ? 'a list' : `a ${typeof value}`;
    throw new ConfigError(`the top level of a config file must be a mapping (key: value lines), found ${kind}`, {
      file: parsed.file,
      ...positionOf(parsed, []),
    });
  }
  return value;
}

/** 1-based line and column of the node at `path` in a parsed document, when it can be found. */
export function positionOf(
  parsed: ParsedYaml,
  path: readonly (string | number)[],
): { line?: number; column?: number } {
  const node = path.length === 0 ? parsed.doc.contents : parsed.doc.getIn(path, true);
  if (!isNode(node) || node.range === undefined || node.range === null) return {};
  const pos = parsed.lineCounter.linePos(node.range[0]);
  return { line: pos.line, column: pos.col };
}
