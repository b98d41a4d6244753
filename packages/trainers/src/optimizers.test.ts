import * as tf from '@tensorflow/tfjs-core';
import { ComponentRegistry, RandomStreams } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { components } from './index.js';

const ctx = { streams: new RandomStreams(1), cwd: '.' };

describe('optimizer components', () => {
  const registry = new ComponentRegistry().use({ components });

  // Minimizing (w − 3)² from w = 0: every optimizer must move w toward 3.
  it.each([
    [{ name: 'adam', lr: 0.1 }],
    [{ name: 'adam', lr: 0.1, fused: true }],
    [{ name: 'sgd', lr: 0.1 }],
    [{ name: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true }],
    [{ name: 'rmsprop', lr: 0.05 }],
    [{ name: 'sgd', lr: 0.1, fused: true }],
    [{ name: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true, fused: true }],
    [{ name: 'rmsprop', lr: 0.05, fused: true }],
  ])('%o is built from config and descends', (block) => {
    const optimizer = registry.build('optimizer', block, ctx, 'trainer.optimizer');
    const w = tf.variable(tf.scalar(0));
    for (let i = 0; i < 20; i++) optimizer.minimize(() => tf.square(tf.sub(w, 3)) as tf.Scalar, false, [w]);
    const after = w.dataSync()[0]!;
    expect(after).toBeGreaterThan(0.5);
    expect(after).toBeLessThan(4);
  });

  it('adam takes the paper’s ε = 1e-8 by default', () => {
    const { options } = registry.resolve('optimizer', { name: 'adam' });
    expect(options).toEqual({ lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, fused: 'auto' });
  });

  it('rejects bad options with the config path', () => {
    expect(() => registry.build('optimizer', { name: 'adam', lr: -1 }, ctx, 'trainer.optimizer')).toThrow(/trainer\.optimizer\.lr/);
    expect(() => registry.build('optimizer', { name: 'adagrad' }, ctx, 'trainer.optimizer')).toThrow(
      /trainer\.optimizer\.name: unknown optimizer 'adagrad'; registered optimizer components: adam, rmsprop, sgd/,
    );
  });
});
