import { VaeLabError } from '@vaelab/core';
import { decode as decodePng } from 'fast-png';
import type { GridImage } from './grid.js';

/*
 * Pictures readable at a glance: nearest-neighbour upscaling of small images, and labels drawn
 * with a built-in 3×5 pixel font (no font files, no canvas), so that every PNG a command writes
 * says what its rows are.
 */

/** 3×5 glyphs, rows top to bottom, '#' set. Lower-case letters are drawn as capitals. */
const GLYPHS: Record<string, string> = {
  '0': '###,# #,# #,# #,###', '1': ' # ,## , # , # ,###', '2': '###,  #,###,#  ,###', '3': '###,  #, ##,  #,###',
  '4': '# #,# #,###,  #,  #', '5': '###,#  ,###,  #,###', '6': '###,#  ,###,# #,###', '7': '###,  #, # , # , # ',
  '8': '###,# #,###,# #,###', '9': '###,# #,###,  #,###',
  A: ' # ,# #,###,# #,# #', B: '## ,# #,## ,# #,## ', C: ' ##,#  ,#  ,#  , ##', D: '## ,# #,# #,# #,## ',
  E: '###,#  ,## ,#  ,###', F: '###,#  ,## ,#  ,#  ', G: ' ##,#  ,# #,# #, ##', H: '# #,# #,###,# #,# #',
  I: '###, # , # , # ,###', J: '  #,  #,  #,# #, # ', K: '# #,# #,## ,# #,# #', L: '#  ,#  ,#  ,#  ,###',
  M: '# #,###,###,# #,# #', N: '# #,###,###,###,# #', O: ' # ,# #,# #,# #, # ', P: '## ,# #,## ,#  ,#  ',
  Q: ' # ,# #,# #,###, ##', R: '## ,# #,## ,# #,# #', S: ' ##,#  , # ,  #,## ', T: '###, # , # , # , # ',
  U: '# #,# #,# #,# #,###', V: '# #,# #,# #,# #, # ', W: '# #,# #,###,###,# #', X: '# #,# #, # ,# #,# #',
  Y: '# #,# #, # , # , # ', Z: '###,  #, # ,#  ,###',
  ' ': '   ,   ,   ,   ,   ', '-': '   ,   ,###,   ,   ', '+': '   , # ,###, # ,   ', '.': '   ,   ,   ,   , # ',
  ',': '   ,   ,   , # ,#  ', ':': '   , # ,   , # ,   ', '=': '   ,###,   ,###,   ', '/': '  #,  #, # ,#  ,#  ',
  '(': ' # ,#  ,#  ,#  , # ', ')': ' # ,  #,  #,  #, # ', '_': '   ,   ,   ,   ,###', '[': '## ,#  ,#  ,#  ,## ',
  ']': ' ##,  #,  #,  #, ##', '>': '#  , # ,  #, # ,#  ', '<': '  #, # ,#  , # ,  #', '?': '###,  #, ##,   , # ',
  '%': '# #,  #, # ,#  ,# #', '*': '# #, # ,# #,   ,   ', "'": ' # , # ,   ,   ,   ', '|': ' # , # , # , # , # ',
};
const GLYPH_W = 3;
const GLYPH_H = 5;

/** Pixel width of `text` at `scale` (one blank column between glyphs). */
export function textWidth(text: string, scale = 2): number {
  return text.length === 0 ? 0 : (text.length * (GLYPH_W + 1) - 1) * scale;
}

/** Pixel height of a line of text at `scale`. */
export function textHeight(scale = 2): number {
  return GLYPH_H * scale;
}

/** A colour: grey level or [r, g, b], 0..255. */
export type Colour = number | readonly [number, number, number];

function setPixel(image: GridImage, x: number, y: number, colour: Colour): void {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
  const at = (y * image.width + x) * image.channels;
  if (image.channels === 1) image.data[at] = typeof colour === 'number' ? colour : Math.round((colour[0] + colour[1] + colour[2]) / 3);
  else {
    const [r, g, b] = typeof colour === 'number' ? [colour, colour, colour] : colour;
    image.data[at] = r;
    image.data[at + 1] = g;
    image.data[at + 2] = b;
  }
}

/** Draw text with its top-left corner at (x, y); characters without a glyph draw as '?'. */
export function drawText(image: GridImage, text: string, x: number, y: number, opts: { scale?: number; colour?: Colour } = {}): void {
  const scale = opts.scale ?? 2;
  const colour = opts.colour ?? 0;
  [...text].forEach((ch, i) => {
    const glyph = (GLYPHS[ch.toUpperCase()] ?? GLYPHS['?']!).split(',');
    for (let r = 0; r < GLYPH_H; r++) {
      for (let c = 0; c < GLYPH_W; c++) {
        if (glyph[r]![c] !== '#') continue;
        for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) setPixel(image, x + (i * (GLYPH_W + 1) + c) * scale + dx, y + r * scale + dy, colour);
      }
    }
  });
}

/** Fill a rectangle. */
export function fillRect(image: GridImage, x: number, y: number, w: number, h: number, colour: Colour): void {
  for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) setPixel(image, xx, yy, colour);
}

/** A blank image. */
export function blankImage(width: number, height: number, channels: 1 | 3, background: Colour = 255): GridImage {
  const image: GridImage = { width, height, channels, data: new Uint8Array(width * height * channels) };
  fillRect(image, 0, 0, width, height, background);
  return image;
}

/** Nearest-neighbour upscaling by an integer factor. */
export function upscale(image: GridImage, factor: number): GridImage {
  if (!Number.isInteger(factor) || factor < 1) throw new VaeLabError(`upscale: the factor must be a positive integer, got ${factor}`);
  if (factor === 1) return image;
  const { width, height, channels } = image;
  const out: GridImage = { width: width * factor, height: height * factor, channels, data: new Uint8Array(width * height * factor * factor * channels) };
  for (let y = 0; y < out.height; y++) {
    const src = Math.floor(y / factor) * width;
    for (let x = 0; x < out.width; x++) {
      const s = (src + Math.floor(x / factor)) * channels;
      const d = (y * out.width + x) * channels;
      for (let c = 0; c < channels; c++) out.data[d + c] = image.data[s + c]!;
    }
  }
  return out;
}

/** The smallest integer factor that makes an image at least `minSide` pixels on its shorter side (at most 8). */
export function readableFactor(image: { width: number; height: number }, minSide = 240): number {
  return Math.max(1, Math.min(8, Math.ceil(minSide / Math.min(image.width, image.height))));
}

/** Paste `src` into `dst` at (x, y); grey into RGB is expanded. */
export function paste(dst: GridImage, src: GridImage, x: number, y: number): void {
  for (let yy = 0; yy < src.height; yy++) {
    for (let xx = 0; xx < src.width; xx++) {
      const s = (yy * src.width + xx) * src.channels;
      const colour: Colour = src.channels === 1 ? src.data[s]! : [src.data[s]!, src.data[s + 1]!, src.data[s + 2]!];
      setPixel(dst, x + xx, y + yy, colour);
    }
  }
}

export interface LabelOptions {
  /** Text above the picture. */
  title?: string;
  /** One label per row of tiles, drawn left of it, vertically centred. */
  rowLabels?: string[];
  /** One label per column of tiles, drawn under the picture. */
  columnLabels?: string[];
  /** Tile layout of the picture: its rows' and columns' pixel pitch and first offset (imageGrid: padding + tile, padding). */
  tile?: { height: number; width: number; padding: number };
  scale?: number;
}

/**
 * The picture with a title above, labels left of its rows and under its columns (each centred on
 * its row or column of tiles).
 */
export function labelGrid(picture: GridImage, opts: LabelOptions): GridImage {
  const scale = opts.scale ?? 2;
  const margin = 4 * scale;
  const lineH = textHeight(scale);
  const left = opts.rowLabels?.length ? Math.max(...opts.rowLabels.map((l) => textWidth(l, scale))) + 2 * margin : 0;
  const top = opts.title ? lineH + 2 * margin : 0;
  const bottom = opts.columnLabels?.length ? lineH + 2 * margin : 0;
  const width = Math.max(left + picture.width, opts.title ? textWidth(opts.title, scale) + 2 * margin : 0);
  const out = blankImage(width, top + picture.height + bottom, picture.channels);
  paste(out, picture, left, top);
  if (opts.title) drawText(out, opts.title, margin, margin, { scale });
  const tile = opts.tile;
  opts.rowLabels?.forEach((label, r) => {
    const centre = tile ? tile.padding + r * (tile.height + tile.padding) + tile.height / 2 : ((r + 0.5) * picture.height) / opts.rowLabels!.length;
    drawText(out, label, left - margin - textWidth(label, scale), top + Math.round(centre - lineH / 2), { scale });
  });
  opts.columnLabels?.forEach((label, c) => {
    const centre = tile ? tile.padding + c * (tile.width + tile.padding) + tile.width / 2 : ((c + 0.5) * picture.width) / opts.columnLabels!.length;
    drawText(out, label, left + Math.round(centre - textWidth(label, scale) / 2), top + picture.height + margin, { scale });
  });
  return out;
}

/** A number as a short label: 2 significant decimals, no trailing zeros ('-1.5', '0', '2.25'). */
export function shortNumber(v: number): string {
  return String(Number(v.toFixed(2)));
}

/** A PNG file's pixels (fast-png's decoder; 8- or 16-bit, grey, grey+alpha, RGB or RGBA). */
export function decodePngImage(bytes: Uint8Array): { width: number; height: number; channels: number; depth: number; data: ArrayLike<number> } {
  const image = decodePng(bytes);
  return { width: image.width, height: image.height, channels: image.channels, depth: image.depth, data: image.data };
}
