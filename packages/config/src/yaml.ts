import fs from 'node:fs';
import { LineCounter, isAlias, isMap, isNode, isScalar, isSeq, parseDocument, type Document, type YAMLError } from 'yaml';
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

/**
 * 1-based line of the entry at `path` in a parsed document: the line of its key for a mapping
 * entry, of the item for a list item. Undefined when the path cannot be followed (through a
 * merge key, say) or is empty.
 */
export function entryLine(parsed: ParsedYaml, path: readonly (string | number)[]): number | undefined {
  let node: unknown = parsed.doc.contents;
  let at: unknown;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(parsed.doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
      if (pair === undefined) return undefined;
      at = isNode(pair.key) ? pair.key : pair.value;
      node = pair.value;
    } else if (isSeq(node)) {
      node = node.items[Number(seg)];
      at = node;
    } else return undefined;
  }
  if (!isNode(at) || at.range === undefined || at.range === null) return undefined;
  return parsed.lineCounter.linePos(at.range[0]).line;
}
