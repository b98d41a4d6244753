import * as tf from '@tensorflow/tfjs-core';
import { RandomStreams } from '@vaelab/core';
import { afterAll, describe, expect, it } from 'vitest';
import { ConvDecoder, ConvEncoder } from './conv.js';
import { Conv2D, ConvTranspose2D } from './layers.js';

/*
 * A whole encoder and decoder, value and every variable's gradient, on the test backend (wasm)
 * with this package's convolution gradients, against the same networks on the cpu backend with
 * tfjs's own conv2d / conv2dTranspose and their stock gradients (which cpu has).
 */

const backend = tf.getBackend();
afterAll(async () => {
  await tf.setBackend(backend);
});

function stockLayers<R>(f: () => R): R {
  const conv = Conv2D.prototype.apply;
  const transposed = ConvTranspose2D.prototype.apply;
  Conv2D.prototype.apply = function (this: Conv2D, x: tf.Tensor4D) {
    return tf.add(tf.conv2d(x, this.kernel as tf.Tensor4D, this.stride, 'same'), this.bias);
  };
  ConvTranspose2D.prototype.apply = function (this: ConvTranspose2D, x: tf.Tensor4D) {
    const [b, h, w] = x.shape;
    return tf.add(tf.conv2dTranspose(x, this.kernel as tf.Tensor4D, [b, h * this.stride, w * this.stride, this.outChannels], this.stride, 'same'), this.bias);
  };
  try {
    return f();
  } finally {
    Conv2D.prototype.apply = conv;
    ConvTranspose2D.prototype.apply = transposed;
  }
}

describe('conv networks against tfjs autodiff', () => {
  it.each(['transposed', 'subpixel', 'resize_conv'] as const)('encoder + %s decoder: loss and every gradient', async (upsample) => {
    const shared = { hidden: [16], activation: 'relu' as const, norm: 'batch' as const, norm_groups: 2, init: 'uniform_fan_in' as const, condition: 'dense' as const };
    const run = () => {
      const streams = new RandomStreams(5);
      const enc = new ConvEncoder([11, 11, 1], [6], { ...shared, channels: [4, 8], kernel: 4, stride: 2 }, streams.stream('e'));
      const dec = new ConvDecoder(3, [11, 11, 1], { ...shared, channels: [8, 4], upsample, kernel: upsample === 'transposed' ? 4 : 3 }, streams.stream('d'));
      enc.setTraining(true);
      dec.setTraining(true);
      const out = tf.tidy(() => {
        const x = streams.stream('x').uniform([5, 11, 11, 1]);
        const { value, grads } = tf.variableGrads(() => {
          const params = enc.apply(x);
          const z = tf.slice(params, [0, 0], [5, 3]);
          const logits = dec.apply(z);
          return tf.sum(tf.sub(tf.softplus(logits), tf.mul(x, logits))) as tf.Scalar;
        }, [...enc.variables, ...dec.variables]);
        return [Array.from(value.dataSync()), ...[...enc.variables, ...dec.variables].map((v) => Array.from(grads[v.name]!.dataSync()))];
      });
      enc.dispose();
      dec.dispose();
      return out;
    };
    const mine = run();
    await tf.setBackend('cpu');
    const reference = stockLayers(run);
    await tf.setBackend(backend);
    expect(mine.length).toBe(reference.length);
    // A bias right before batch norm has a gradient that is zero up to rounding, so each error is
    // relative to the larger of its own gradient's scale and 1% of the largest gradient's.
    const largest = Math.max(...reference.slice(1).flatMap((r) => r.map(Math.abs)));
    mine.forEach((m, i) => {
      const r = reference[i]!;
      const scale = Math.max(0.01 * largest, ...r.map(Math.abs));
      const err = Math.max(...m.map((v, j) => Math.abs(v - r[j]!)));
      expect(err / scale, `value ${i} (0: loss, then variables in order)`).toBeLessThan(5e-4); // float32, two backends, batch-norm sums in different orders
    });
  });
});
