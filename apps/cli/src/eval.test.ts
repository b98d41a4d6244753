import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_IW_SAMPLES, parseEvalFlags } from './eval.js';
import { main } from './main.js';
import { readMetrics } from '@vaelab/runs';
import { capture, type Captured, repo, TINY } from './test-helpers.js';

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `vaelab-${name}-`));
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

let runDir: string;
beforeAll(async () => {
  const out = tmp('eval');
  expect(await main(['train', ...TINY, '--out', out], capture())).toBe(0);
  const exp = readdirSync(out)[0]!;
  runDir = join(out, exp, readdirSync(join(out, exp))[0]!);
});

describe('vaelab eval', () => {
  it('a point-mass posterior (VQ-VAE): no log-likelihood, ELBO or KL; reconstruction and the grid', async () => {
    const out = tmp('eval-vq');
    const args = [...TINY, 'posterior=vector_quantizer', 'objective=vq_vae', 'posterior.code_dim=2', 'posterior.codes=8'];
    expect(await main(['train', ...args, '--out', out], capture())).toBe(0);
    const exp = readdirSync(out)[0]!;
    const dir = join(out, exp, readdirSync(join(out, exp))[0]!);
    const io = capture();
    expect(await main(['eval', dir, '--iw-samples', '4', '--limit', '10'], io)).toBe(0);
    const report = readJson(join(dir, 'eval.json'));
    expect(report).toMatchObject({ log_likelihood: null, elbo: null, kl: null, bits_per_dim: null, kl_per_dim: null, examples: 10 });
    expect(Number.isFinite(report.reconstruction)).toBe(true);
    expect(Number.isFinite(report.reconstruction_mse)).toBe(true);
    expect(existsSync(join(dir, 'images', 'reconstructions.png'))).toBe(true);
    expect(io.stdout.join('\n')).toMatch(/the posterior is a point mass \(vector_quantizer\)/);
  });

  it('evaluates the latest checkpoint: eval.json, the reconstruction grid and a summary', async () => {
    const io = capture();
    expect(await main(['eval', runDir, '--iw-samples', '16', '--limit', '20', '--batch-size', '7', '--log-interval', '0.001'], io)).toBe(0);
    const report = readJson(join(runDir, 'eval.json'));
    expect(report).toMatchObject({
      iw_samples: 16,
      split: 'test',
      examples: 20,
      units: 'nats per example',
      kl_analytic: true,
      latent_dim: 4,
      step: 8,
      epoch: 2,
      batch_size: 7,
      backend: 'wasm',
      reconstruction_at: 'posterior_mean',
    });
    for (const key of ['log_likelihood', 'elbo', 'kl', 'reconstruction', 'reconstruction_mse', 'seconds']) {
      expect(Number.isFinite(report[key]), key).toBe(true);
    }
    const ll = report.log_likelihood as number;
    const elbo = report.elbo as number;
    expect(elbo).toBeCloseTo(-((report.reconstruction as number) + (report.kl as number)), 6);
    // K = 16 tightens the bound: above the ELBO, and in the same range as the training run's test loss
    expect(ll).toBeGreaterThan(elbo);
    const testLoss = readMetrics(runDir).at(-1)!.loss;
    expect(Math.abs(-elbo - testLoss)).toBeLessThan(0.25 * testLoss);
    // a Bernoulli on the synthetic data's grey levels is not a distribution over the data: no bits/dim
    expect(report.bits_per_dim).toBeNull();
    expect(report.kl_per_dim).toHaveLength(4);
    expect((report.kl_per_dim as number[]).reduce((a, b) => a + b, 0)).toBeCloseTo(report.kl as number, 4);
    expect(Number.isInteger(report.active_units)).toBe(true);
    expect(report.active_units).toBeLessThanOrEqual(4);
    // 20 examples in rows of 8: 3 rows of originals, each above a row of reconstructions; 8x8 tiles, padding 2
    const png = readFileSync(join(runDir, 'images', 'reconstructions.png'));
    expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
    // IHDR: width, height (big-endian), bit depth 8, colour type 0 (grey)
    expect([png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25]]).toEqual([8 * 8 + 9 * 2, 6 * 8 + 7 * 2, 8, 0]);
    const text = io.stdout.join('\n');
    expect(text).toMatch(/evaluating the checkpoint at step 8 \(epoch 2\) on 20 test examples of synthetic, K = 16/);
    expect(text).toMatch(/eval examples 20\/20 \(100\.0%\) K = 16 \| \d+ samples\/s \| elapsed \d+:\d\d, ETA \d+:\d\d/); // progress without a terminal
    expect(text).toMatch(/log p\(x\) ≈ -[\d.]+ nats \(importance sampled, K = 16\)/);
    expect(text).not.toMatch(/bits\/dim/);
    expect(text).toMatch(/active units \d\/4/);
    expect(text).toMatch(/wrote eval\.json and images\/reconstructions\.png/);

    // The same command gives the same numbers (the 'eval' stream restarts from the checkpoint's state).
    expect(await main(['eval', runDir, '--iw-samples', '16', '--limit', '20', '--batch-size', '7'], capture())).toBe(0);
    const again = readJson(join(runDir, 'eval.json'));
    for (const key of ['log_likelihood', 'elbo', 'kl', 'kl_per_dim', 'active_units', 'reconstruction_mse']) expect(again[key]).toEqual(report[key]);
  });

  it('evaluates the training split with the default K and batch size', async () => {
    expect(await main(['eval', runDir, '--split', 'train', '--limit', '5', '-k', '3'], capture())).toBe(0);
    expect(readJson(join(runDir, 'eval.json'))).toMatchObject({ split: 'train', examples: 5, iw_samples: 3, batch_size: 256 });
    expect(parseEvalFlags({})).toEqual({ iwSamples: DEFAULT_IW_SAMPLES, split: 'test', limit: null, batchSize: null });
  });

  it('bad input: a clear message and exit code 2', async () => {
    const fails = async (args: string[], pattern: RegExp) => {
      const io = capture();
      expect(await main(['eval', ...args], io)).toBe(2);
      expect(io.stderr.join('\n')).toMatch(pattern);
    };
    await fails(['/nonexistent/run'], /run folder \/nonexistent\/run does not exist/);
    await fails([tmp('notarun')], /is not a run folder \(no config\.yaml\)/);
    await fails([runDir, '--iw-samples', '0'], /--iw-samples \(K\) must be a positive integer, got '0'/);
    await fails([runDir, '--iw-samples', 'many'], /--iw-samples \(K\) must be a positive integer, got 'many'/);
    await fails([runDir, '--split', 'valid'], /--split must be 'test' or 'train', got 'valid'/);
    await fails([runDir, '--limit', '-3'], /--limit must be a positive integer/);
    await fails([runDir, '--batch-size', '1.5'], /--batch-size must be a positive integer/);
    // A run folder whose checkpoint is missing (training never reached the end of an epoch).
    const noCkpt = tmp('nockpt');
    cpSync(join(runDir, 'config.yaml'), join(noCkpt, 'config.yaml'));
    await fails([noCkpt], /no checkpoint to evaluate .*checkpoints holds none/);
    expect(existsSync(join(noCkpt, 'eval.json'))).toBe(false);
  });
});
