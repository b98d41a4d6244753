import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, RandomStreams, ShapeError } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { Mlp, components } from './index.js';

const ctx = { streams: new RandomStreams(1), cwd: '.' };

describe('mlp', () => {
  const registry = new ComponentRegistry().use({ components });

  it('maps [batch, ...inputShape] to [batch, ...outputShape]', () => {
    const enc = registry.build('encoder', { name: 'mlp', hidden: [16, 8] }, { ...ctx, inputShape: [4, 4, 1], outputShape: [6] }) as Mlp;
    expect(enc.apply(tf.zeros([3, 4, 4, 1])).shape).toEqual([3, 6]);
    // kernels are stored [out, in] (the layers run feature-major), biases [out]
    expect(enc.variables.map((v) => v.shape)).toEqual([[16, 16], [16], [8, 16], [8], [6, 8], [6]]);
    const dec = registry.build('decoder', { name: 'mlp' }, { ...ctx, latentDim: 2, outputShape: [4, 4, 1] });
    expect(dec.apply(tf.zeros([3, 2])).shape).toEqual([3, 4, 4, 1]);
  });

  it('initializes within ±1/√fan_in (uniform_fan_in) and zero biases for glorot_uniform', () => {
    const m = new Mlp([100], [10], { hidden: [], activation: 'relu', init: 'uniform_fan_in' }, new RandomStreams(3).stream('i'));
    const w = m.variables[0]!.dataSync();
    expect(Math.max(...Array.from(w, Math.abs))).toBeLessThanOrEqual(0.1);
    expect(Math.max(...Array.from(w, Math.abs))).toBeGreaterThan(0.09);
    const g = new Mlp([100], [10], { hidden: [], activation: 'relu', init: 'glorot_uniform' }, new RandomStreams(3).stream('i'));
    expect(Array.from(g.variables[1]!.dataSync())).toEqual(new Array(10).fill(0));
  });

  it('is deterministic for a seed', () => {
    const a = new Mlp([5], [2], { hidden: [3], activation: 'tanh', init: 'uniform_fan_in' }, new RandomStreams(9).stream('i'));
    const b = new Mlp([5], [2], { hidden: [3], activation: 'tanh', init: 'uniform_fan_in' }, new RandomStreams(9).stream('i'));
    expect(Array.from(a.variables[0]!.dataSync())).toEqual(Array.from(b.variables[0]!.dataSync()));
  });

  it('says which shapes disagree when the input does not fit', () => {
    const m = new Mlp([5], [2], { hidden: [3], activation: 'relu', init: 'uniform_fan_in' }, new RandomStreams(1).stream('i'));
    expect(() => m.apply(tf.zeros([2, 6]))).toThrow(ShapeError);
    expect(() => m.apply(tf.zeros([2, 6]))).toThrow(/\[2, 6\].*\[batch, 5\]/);
  });

  it('rejects a bad option with the config path', () => {
    expect(() => registry.build('encoder', { name: 'mlp', hidden: [0] }, { ...ctx, inputShape: [2], outputShape: [2] }, 'encoder')).toThrow(
      /encoder\.hidden\.0/,
    );
    expect(() => registry.build('encoder', { name: 'mlp', activation: 'gelu' }, { ...ctx, inputShape: [2], outputShape: [2] }, 'encoder')).toThrow(
      /encoder\.activation/,
    );
  });
});
