import * as tf from '@tensorflow/tfjs-core';
import { type Dataset, RandomStream, VaeLabError } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { makeSynthetic } from './synthetic.js';
import { ValidationSplitError, hasValidation, validationCount, withValidationSplit } from './validation-split.js';

/** 10 examples of shape [2], example i holding [i, -i], label i. */
function tiny(): Dataset {
  const x = new Float32Array(20);
  for (let i = 0; i < 10; i++) x.set([i, -i], 2 * i);
  return {
    name: 'tiny',
    shape: [2],
    levels: null,
    train: { size: 10, x, labels: Int32Array.from({ length: 10 }, (_, i) => i) },
    test: { size: 1, x: new Float32Array([7, 7]) },
  };
}

describe('withValidationSplit', () => {
  it('moves a seeded random subset of the training split into a validation split, keeping rows whole', () => {
    const ds = withValidationSplit(tiny(), 3, 5);
    expect(ds.validation.size).toBe(3);
    expect(ds.train.size).toBe(7);
    expect(ds.test).toEqual(tiny().test);
    const v = Array.from(ds.validationIndices);
    expect(v).toEqual([...v].sort((a, b) => a - b));
    expect(Array.from(ds.validation.labels!)).toEqual(v);
    expect(Array.from(ds.validation.x)).toEqual(v.flatMap((i) => [i, -i]));
    const rest = Array.from(ds.train.labels!);
    expect([...rest, ...v].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(ds.train.x)).toEqual(rest.flatMap((i) => [i, -i]));
    expect(hasValidation(ds)).toBe(true);
    expect(hasValidation(tiny())).toBe(false);
  });

  it('is deterministic for a seed; another seed picks another subset', () => {
    const big = makeSynthetic({ nTrain: 200, nTest: 10, size: 4 }, new RandomStream('synthetic', 1));
    const a = withValidationSplit(big, 0.1, 1);
    const b = withValidationSplit(big, 0.1, 1);
    const c = withValidationSplit(big, 0.1, 2);
    expect(a.validation.size).toBe(20);
    expect(Array.from(a.validationIndices)).toEqual(Array.from(b.validationIndices));
    expect(Array.from(a.train.x)).toEqual(Array.from(b.train.x));
    expect(Array.from(c.validationIndices)).not.toEqual(Array.from(a.validationIndices));
    // the original dataset is not modified
    expect(big.train.size).toBe(200);
  });

  it('keeps the dataset transform (also one on a prototype)', () => {
    class Doubling {
      name = 'doubling';
      shape = [2];
      levels = null;
      train = tiny().train;
      test = tiny().test;
      transform(x: tf.Tensor): tf.Tensor {
        return tf.mul(x, 2);
      }
    }
    const ds = withValidationSplit(new Doubling(), 0.5, 1);
    expect(ds.transform).toBeTypeOf('function');
    const y = ds.transform!(tf.ones([1, 2]), new RandomStream('r', 1), true);
    expect(Array.from(y.dataSync())).toEqual([2, 2]);
    y.dispose();
  });

  it('says what is wrong with a spec that is not a count or a fraction, or empties a split', () => {
    expect(validationCount(0.25, 10)).toBe(3); // round(2.5) = 3
    expect(validationCount(4, 10)).toBe(4);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => withValidationSplit(tiny(), bad, 1)).toThrow(/neither a count .* nor a fraction/);
    }
    expect(() => withValidationSplit(tiny(), 10, 1)).toThrow(/takes 10 of the 10 training examples and leaves none/);
    expect(() => withValidationSplit(tiny(), 0.99, 1)).toThrow(/leaves none to train on/);
    expect(() => withValidationSplit(tiny(), 0.01, 1)).toThrow(/rounds to 0 examples/);
    const err = (() => {
      try {
        withValidationSplit(tiny(), 11, 1);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ValidationSplitError);
    expect(err).toBeInstanceOf(VaeLabError);
  });
});
