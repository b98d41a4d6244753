import { ComponentRegistry, Normal, RandomStreams } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { components } from './index.js';

describe('standard_normal', () => {
  it('is N(0, I) with batch [batch] and event [latent_dim], built from config', () => {
    const registry = new ComponentRegistry().use({ components });
    const prior = registry.build('prior', { name: 'standard_normal' }, { latentDim: 3, dataShape: [4], streams: new RandomStreams(1), cwd: '.' });
    const d = prior.distribution(5) as Normal;
    expect(d.batchShape).toEqual([5]);
    expect(d.eventShape).toEqual([3]);
    expect(prior.variables).toEqual([]);
    // log N(0; 0, I) in 3 dimensions = −(3/2) log 2π
    expect(d.logProb(d.loc).dataSync()[0]).toBeCloseTo(-1.5 * Math.log(2 * Math.PI), 5);
  });
});
