import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunFolderError } from './errors.js';
import { RUN_FILES } from './files.js';
import { writeJson } from './run-folder.js';

/*
 * The images/ folder of a run: PNG pictures, and `captions.json` saying what each shows (written
 * by the command that drew it), so that a report can caption every picture.
 */

/** The caption file inside images/. */
export const IMAGE_CAPTIONS = 'captions.json';

export interface RunImage {
  /** File name inside images/. */
  name: string;
  path: string;
  /** What the picture shows; a default naming the file when no command recorded one. */
  caption: string;
}

function readCaptions(dir: string): Record<string, string> {
  const path = join(dir, RUN_FILES.images, IMAGE_CAPTIONS);
  if (!existsSync(path)) return {};
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
    }
  } catch (e) {
    throw new RunFolderError(`${path}: not valid JSON (${(e as Error).message})`, path, { cause: e });
  }
  throw new RunFolderError(`${path}: expected an object of file name -> caption`, path);
}

/**
 * Write a PNG into the run's images/ folder (whole: temp file + rename) with its caption.
 * `name` is a plain file name ending in .png. Returns the file's path.
 */
export function writeRunImage(dir: string, name: string, png: Uint8Array, caption: string): string {
  if (!/^[\w.-]+\.png$/.test(name)) throw new RunFolderError(`image name '${name}': use letters, digits, '.', '_' and '-', ending in .png`, name);
  const folder = join(dir, RUN_FILES.images);
  mkdirSync(folder, { recursive: true });
  const path = join(folder, name);
  writeFileSync(`${path}.tmp`, png);
  renameSync(`${path}.tmp`, path);
  writeJson(join(folder, IMAGE_CAPTIONS), { ...readCaptions(dir), [name]: caption });
  return path;
}

/** The run's PNG images, in name order, with their captions. */
export function readRunImages(dir: string): RunImage[] {
  const folder = join(dir, RUN_FILES.images);
  if (!existsSync(folder)) return [];
  const captions = readCaptions(dir);
  return readdirSync(folder)
    .filter((f) => f.endsWith('.png'))
    .sort()
    .map((name) => ({ name, path: join(folder, name), caption: captions[name] ?? `${name} (no caption recorded)` }));
}
