import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from './main.js';
import { capture, type Captured, repo, TINY } from './test-helpers.js';

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `vaelab-${name}-`));

async function train(extra: string[] = []): Promise<string> {
  const out = tmp('use');
  expect(await main(['train', ...TINY, ...extra, '--out', out, '--quiet'], capture())).toBe(0);
  const exp = readdirSync(out)[0]!;
  return join(out, exp, readdirSync(join(out, exp))[0]!);
}

const png = (path: string) => decode(readFileSync(path));
const captions = (run: string) => JSON.parse(readFileSync(join(run, 'images', 'captions.json'), 'utf8')) as Record<string, string>;

let runDir: string;
beforeAll(async () => {
  runDir = await train();
});

describe('commands on a trained run', () => {
  it('sample, reconstruct, interpolate, traverse, edit and latent write captioned, readable PNGs', async () => {
    const cases: [string[], string][] = [
      [['sample', runDir, '--n', '12', '--temperature', '0.8'], 'samples-t0.8.png'],
      [['sample', runDir, '--n', '4', '--draw'], 'samples-draw.png'],
      [['reconstruct', runDir, '--indices', '0,1,2,3,4'], 'reconstructions-test.png'],
      [['interpolate', runDir, '--from', '0', '--to', '5', '--steps', '6', '--mode', 'slerp'], 'interpolation-0-5-slerp.png'],
      [['traverse', runDir, '--index', '2', '--steps', '5'], 'traversal-test2.png'],
      [['traverse', runDir, '--dims', '1,0'], 'traversal.png'],
      [['edit', runDir, '--attribute', 'blob-to-square', '--amount', '1.5', '--index', '3', '--steps', '4'], 'edit-blob-to-square-test3.png'],
      [['latent', runDir, '--limit', '30'], 'latent-scatter.png'],
    ];
    for (const [args, file] of cases) {
      const io = capture();
      expect(await main([...args, '--quiet'], io), `${args.join(' ')}: ${io.stderr.join('\n')}`).toBe(0);
      const path = join(runDir, 'images', file);
      expect(existsSync(path), file).toBe(true);
      const image = png(path);
      // upscaled: an 8x8 dataset's grids are at least 200 px on their shorter side
      expect(Math.min(image.width, image.height), file).toBeGreaterThanOrEqual(100);
      expect(captions(runDir)[file], file).toMatch(/\w{10}/);
    }
    // traversal rows: one per chosen dimension (4 latent dims, default = all of them ordered by KL)
    expect(captions(runDir)['traversal.png']).toMatch(/one latent dimension alone/);
  });

  it('a 2-D latent gets the manifold grid', async () => {
    const run2d = await train(['latent_dim=2']);
    expect(await main(['latent', run2d, '--grid', '5', '--quiet'], capture())).toBe(0);
    expect(existsSync(join(run2d, 'images', 'manifold.png'))).toBe(true);
    expect(existsSync(join(run2d, 'images', 'latent-scatter.png'))).toBe(true);
  });

  it('compress writes a real file that decompresses with the same run, and refuses another run\'s file', async () => {
    const dir = tmp('compress');
    const file = join(dir, 'test.vaez');
    const io = capture();
    expect(await main(['compress', runDir, '--limit', '20', '-o', file, '--bin-width', '0.5', '--quiet'], io)).toBe(0);
    const json = JSON.parse(io.stdout.find((l) => l.startsWith('json '))!.slice(5)) as Record<string, number>;
    expect(json.images).toBe(20);
    expect(json.bytes).toBe(statSync(file).size);
    expect(json.raw_bits_per_image).toBe(8 * 8 * 8);
    expect(json.bits_per_image).toBeCloseTo((statSync(file).size * 8) / 20, 6);
    const out = join(dir, 'back.png');
    expect(await main(['decompress', runDir, file, '-o', out, '--quiet'], capture())).toBe(0);
    expect(png(out).width).toBeGreaterThan(8);
    const other = await train(['seed=2']);
    const refused = capture();
    expect(await main(['decompress', other, file, '-o', out, '--quiet'], refused)).toBe(2);
    expect(refused.stderr.join('\n')).toMatch(/was compressed with the model of a run whose config hash is \w+; this run's is \w+/);
  });

  it('report writes one self-contained HTML file with every image', async () => {
    const io = capture();
    expect(await main(['report', runDir], io)).toBe(0);
    const html = readFileSync(join(runDir, 'report.html'), 'utf8');
    const images = readdirSync(join(runDir, 'images')).filter((f) => f.endsWith('.png'));
    expect(html.match(/data:image\/png;base64,/g)?.length).toBe(images.length);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).toContain('Learning curves');
  });
});

describe('bad flags: exit 2, naming what is allowed', () => {
  const cases: [string[], RegExp][] = [
    [['sample', '--n', '0'], /--n must be an integer in 1\.\.1024/],
    [['sample', '--temperature', 'hot'], /--temperature must be a number >= 0/],
    [['sample', '--label', '1'], /--label needs a conditional model/],
    [['reconstruct', '--split', 'valid'], /--split must be one of test, train/],
    [['reconstruct', '--indices', '1,x'], /comma-separated list of non-negative integers/],
    [['reconstruct', '--indices', '999'], /index 999 is outside the test split \(0\.\.31\)/],
    [['interpolate', '--from', '0'], /--to is required/],
    [['interpolate', '--from', '0', '--to', '1', '--mode', 'cubic'], /--mode must be one of linear, slerp/],
    [['interpolate', '--from', 'a.jpg', '--to', '1'], /index in the split .* or a \.png file/],
    [['traverse', '--range', '3,-3'], /--range must be two numbers low,high with low < high/],
    [['traverse', '--dims', '9'], /--dims 9 is not a latent dimension \(0\.\.3\)/],
    [['edit', '--attribute', 'circle', '--index', '0'], /unknown class 'circle'; classes: 0 \(horizontal_bar\), 1 \(vertical_bar\), 2 \(blob\), 3 \(square\)/],
    [['edit', '--attribute', 'blob'], /--index is required/],
    [['compress', '--limit', '3'], /-o, --out FILE is required/],
    [['compress', '-o', 'x', '--limit', '2', '--indices', '1'], /--limit N or --indices, not both/],
    [['compress', '-o', 'x', '--bin-width', '0'], /--bin-width must be a number > 0/],
    [['latent', '--projection', 'tsne'], /--projection must be one of pca, umap/],
    [['report', '-o', 'r.txt'], /-o must name an \.html file/],
    [['sample', '--frobnicate'], /unknown option/],
  ];
  it.each(cases)('%j', async (args, message) => {
    const io = capture();
    const [command, ...rest] = args;
    expect(await main([command!, runDir, ...rest], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(message);
  });

  it('a folder without a run or checkpoint is refused with exit 2', async () => {
    const io = capture();
    expect(await main(['sample', tmp('empty')], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/config\.yaml is missing|not a run folder/);
  });
});
