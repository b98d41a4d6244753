import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { main } from '@vaelab/cli';
import { Normal, RandomStream, kl } from '@vaelab/core';
import { Laplace } from '@vaelab/likelihoods';
import { describe, expect, it } from 'vitest';
import { klNormalLaplace } from './index.js';

const project = fileURLToPath(new URL('..', import.meta.url));

describe('Laplace prior plugin', () => {
  it('has the closed-form KL at a hand-picked point', () => {
    // μ = 0, σ = 1, b = 1/√2: E|z| = √(2/π), so KL = −½ log(2πe) + log(2b) + √(2/π)/b.
    const expected = -0.5 * Math.log(2 * Math.PI * Math.E) + Math.log(2 * Math.SQRT1_2) + Math.sqrt(2 / Math.PI) / Math.SQRT1_2;
    const value = klNormalLaplace(new Normal(tf.zeros([1, 1]), tf.ones([1, 1])), new Laplace(tf.zeros([1, 1]), tf.fill([1, 1], Math.SQRT1_2)));
    expect((value.arraySync() as number[])[0]).toBeCloseTo(expected, 5);
  });

  it('agrees with a Monte Carlo estimate of E_q[log q − log p]', () => {
    // The same q and p repeated over a batch of 20,000: one sample each, averaged, in one pass.
    const n = 20000;
    const tile = (row: number[]) => tf.tile(tf.tensor2d([row]), [n, 1]);
    const q = new Normal(tile([-1.5, 0.3, 2]), tile([0.4, 1.2, 0.05]));
    const p = new Laplace(tile([0, 0.5, 0]), tile([0.7, 2, 1]));
    const analytic = (klNormalLaplace(q, p).arraySync() as number[])[0]!;
    const mc = kl(q, p, { rng: new RandomStream('mc', 3), forceMonteCarlo: true }).value.mean().arraySync() as number;
    expect(Math.abs(analytic - mc)).toBeLessThan(0.05);
  });

  it('trains from the example project: the plugin is loaded by name from vaelab.config.yaml and its KL is analytic', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vaelab-example-'));
    const lines: string[] = [];
    const io = { cwd: project, tty: false, out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
    const args = ['train', 'experiment=laplace_prior_synthetic', 'data.n_train=64', 'data.n_test=32', 'trainer.epochs=1', 'trainer.batch_size=16', 'backend=wasm'];
    expect(await main([...args, '--out', out, '--quiet'], io), lines.join('\n')).toBe(0);
    const [experiment] = readdirSync(out);
    const [run] = readdirSync(join(out, experiment!));
    const summary = JSON.parse(readFileSync(join(out, experiment!, run!, 'summary.json'), 'utf8'));
    expect(summary.status).toBe('completed');
    expect(summary.objective_notes).toContain('kl: analytic');
    expect(readFileSync(join(out, experiment!, run!, 'config.yaml'), 'utf8')).toMatch(/prior:\n {2}name: laplace\n {2}b: 0\.707/);
  });
});
