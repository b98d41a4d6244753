import { describe, expect, it } from 'vitest';
import { escapeHtml, lineChart, renderRunReport, renderSweepReport } from './report.js';

describe('renderRunReport', () => {
  const html = renderRunReport({
    title: 'mnist_vae <run>',
    dir: '/runs/x',
    configYaml: 'latent_dim: 2\n',
    overrides: ['seed=2'],
    meta: { experiment: 'mnist_vae', seed: 2, config_hash: 'h1', backend: { name: 'wasm' } },
    summary: { test_loss: 100.5 },
    eval: { log_likelihood: -99.1, kl_per_dim: [1.5, 0.01] },
    metrics: [
      { step: 1, epoch: 1, split: 'train', loss: 120, kl: 10 },
      { step: 2, epoch: 2, split: 'train', loss: 110, kl: 12 },
      { step: 2, epoch: 2, split: 'test', loss: 111, kl: 11 },
    ],
    images: [{ name: 'samples.png', caption: 'Samples & more', png: Uint8Array.from([137, 80, 78, 71]) }],
  });

  it('is one self-contained page: inline images and SVG, no external resource', () => {
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('data:image/png;base64,iVBORw==');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).not.toContain('<script');
  });

  it('escapes text, shows the config, the evaluation and the captions', () => {
    expect(html).toContain('mnist_vae &lt;run&gt;');
    expect(html).toContain('Samples &amp; more');
    expect(html).toContain('latent_dim: 2');
    expect(html).toContain('KL per latent dimension');
    expect(html).toContain('Loss (nats per example) by split');
  });
});

describe('charts and sweeps', () => {
  it('a chart with no finite values says so', () => {
    expect(lineChart([{ name: 'a', points: [[1, Number.NaN]] }], { title: 't', xLabel: 'x', yLabel: 'y' })).toMatch(/no finite values/);
  });

  it('a sweep report has one row per job and a chart', () => {
    const html = renderSweepReport({
      title: 'sweep',
      dir: '/s',
      columns: ['test_loss'],
      runs: [
        { name: 'job0', overrides: ['objective.beta=1'], status: 'completed', values: { test_loss: 100 } },
        { name: 'job1', overrides: ['objective.beta=4'], status: 'failed', values: { test_loss: null } },
      ],
    });
    expect(html.match(/<tr>/g)).toHaveLength(3);
    expect(html).toContain('objective.beta=4');
    expect(escapeHtml('<a>')).toBe('&lt;a&gt;');
  });
});
