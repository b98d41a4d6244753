import * as tf from '@tensorflow/tfjs-core';
import { ComponentConfigError, ComponentRegistry, type Decoder, type Encoder, RandomStreams } from '@vaelab/core';
import { describe, expect, it } from 'vitest';
import { components } from './index.js';

/* The conv and resnet encoders and decoders, built through the registry as a config builds them. */

const registry = new ComponentRegistry().use({ components });
const ctx = (seed = 1) => ({ streams: new RandomStreams(seed), cwd: '.' });
type Net = (Encoder | Decoder) & { setTraining(t: boolean): void; state: tf.Variable[] };

function encoder(block: Record<string, unknown>, inputShape: number[], outputShape: number[], extra: object = {}, seed = 1): Net {
  return registry.build('encoder', { name: 'conv', ...block }, { ...ctx(seed), inputShape, outputShape, ...extra }, 'encoder') as Net;
}
function decoder(block: Record<string, unknown>, latentDim: number, outputShape: number[], extra: object = {}, seed = 1): Net {
  return registry.build('decoder', { name: 'conv', ...block }, { ...ctx(seed), latentDim, outputShape, ...extra }, 'decoder') as Net;
}

const small = { channels: [4, 6], hidden: [8] };

describe('shapes are derived from the data and the distributions', () => {
  const shapes = [
    [28, 28, 1],
    [32, 32, 3],
    [64, 64, 1],
    [27, 27, 1],
    [13, 21, 2],
  ];
  it.each(shapes)('conv and resnet encoders and decoders fit data of shape [%i, %i, %i]', (h, w, c) => {
    tf.tidy(() => {
      for (const name of ['conv', 'resnet']) {
        const extra = name === 'resnet' ? { blocks: 1 } : {};
        const enc = encoder({ ...small, ...extra, name }, [h, w, c], [10]);
        expect(enc.apply(tf.zeros([2, h, w, c])).shape).toEqual([2, 10]);
        enc.dispose();
        for (const upsample of ['transposed', 'subpixel', 'resize_conv']) {
          // a Gaussian with per-pixel σ asks for two parameters per value: [h, w, 2c]
          const dec = decoder({ ...small, ...extra, name, upsample }, 5, [h, w, 2 * c]);
          expect(dec.apply(tf.zeros([3, 5])).shape).toEqual([3, h, w, 2 * c]);
          dec.dispose();
        }
      }
    });
  });

  it('emits parameter shapes of rank 4 (a 256-way categorical per pixel)', () => {
    const dec = decoder({ channels: [4], hidden: [] }, 3, [8, 8, 1, 256]);
    tf.tidy(() => {
      expect(dec.apply(tf.zeros([2, 3])).shape).toEqual([2, 8, 8, 1, 256]);
    });
    dec.dispose();
  });

  it('calls too many stride-2 stages a config error that says why and what would work', () => {
    expect(() => encoder({ channels: [4, 4, 4, 4, 4, 4] }, [28, 28, 1], [4])).toThrow(ComponentConfigError);
    expect(() => encoder({ channels: [4, 4, 4, 4, 4, 4] }, [28, 28, 1], [4])).toThrow(/encoder\.channels: 6 stages .* 28×28 image .* at most 5/);
    expect(() => decoder({ channels: [4, 4, 4, 4] }, 2, [8, 8, 1])).toThrow(/decoder\.channels: 4 stages .* at most 3/);
    expect(() => registry.build('encoder', { name: 'resnet', channels: [2, 2, 2] }, { ...ctx(), inputShape: [4, 4, 1], outputShape: [2] }, 'encoder')).toThrow(
      /at most 2/,
    );
    expect(() => encoder({}, [784], [4])).toThrow(/image data of shape \[height, width, channels\].*\[784\].*mlp/);
    expect(() => encoder({ channels: [6, 8], norm: 'group', norm_groups: 4 }, [8, 8, 1], [2])).toThrow(/encoder\.norm_groups: 4 groups do not divide 6/);
    expect(() => registry.build('decoder', { name: 'conv', upsample: 'bilinear' }, { ...ctx(), latentDim: 2, outputShape: [8, 8, 1] }, 'decoder')).toThrow(
      /decoder\.upsample/,
    );
  });
});

/** Every variable's gradient of a random projection of the output, as a max |g| per variable. */
function gradientNorms(net: Net, input: tf.Tensor, cond?: tf.Tensor): number[] {
  return tf.tidy(() => {
    const out = net.apply(input, cond);
    const probe = tf.randomNormal(out.shape, 0, 1, 'float32', 3);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(net.apply(input, cond), probe)), net.variables);
    return net.variables.map((v) => tf.max(tf.abs(grads[v.name]!)).dataSync()[0]!);
  });
}

describe('training', () => {
  it.each(['none', 'batch', 'group', 'layer'])('gradients reach every variable (norm: %s)', (norm) => {
    const x = tf.randomUniform([4, 9, 9, 1], 0, 1, 'float32', 5);
    for (const name of ['conv', 'resnet']) {
      const nets = [
        encoder({ name, channels: [4, 8], hidden: [6], norm, norm_groups: 2 }, [9, 9, 1], [4]),
        ...['transposed', 'subpixel', 'resize_conv'].map((upsample) =>
          decoder({ name, channels: [8, 4], hidden: [6], norm, norm_groups: 2, upsample }, 3, [9, 9, 1]),
        ),
      ];
      for (const [i, net] of nets.entries()) {
        net.setTraining(true);
        const input = i === 0 ? x : tf.randomNormal([4, 3], 0, 1, 'float32', 6);
        const norms = gradientNorms(net, input);
        expect(norms.length).toBe(net.variables.length);
        for (const g of norms) expect(g).toBeGreaterThan(0);
        net.dispose();
        if (i > 0) input.dispose();
      }
    }
    x.dispose();
  });

  it('save then load gives identical outputs (variables and batch-norm state)', () => {
    const block = { name: 'resnet', channels: [4, 8], norm: 'batch', upsample: 'subpixel' };
    const a = decoder(block, 3, [8, 8, 1], {}, 1);
    const b = decoder(block, 3, [8, 8, 1], {}, 2);
    const z = tf.randomNormal([5, 3], 0, 1, 'float32', 8);
    a.setTraining(true);
    tf.tidy(() => void a.apply(z)); // moves the running statistics off their initial values
    a.setTraining(false);
    const saved = [...a.variables, ...a.state].map((v) => ({ shape: v.shape, values: v.dataSync().slice() }));
    [...b.variables, ...b.state].forEach((v, i) => v.assign(tf.tensor(saved[i]!.values, saved[i]!.shape)));
    const [ya, yb] = tf.tidy(() => [a.apply(z).dataSync(), b.apply(z).dataSync()]);
    expect(Array.from(yb!)).toEqual(Array.from(ya!));
    tf.dispose(z);
    a.dispose();
    b.dispose();
  });

  it('batch norm: batch statistics in training, running averages in evaluation, and both resume exactly', () => {
    const block = { channels: [4], hidden: [], norm: 'batch' };
    const net = encoder(block, [6, 6, 1], [2]);
    expect(net.state.map((v) => v.shape)).toEqual([[4], [4]]);
    const x = tf.randomUniform([8, 6, 6, 1], 0, 1, 'float32', 9);
    // evaluation leaves the running statistics alone
    tf.tidy(() => void net.apply(x));
    expect(Array.from(net.state[0]!.dataSync())).toEqual([0, 0, 0, 0]);
    net.setTraining(true);
    tf.tidy(() => void net.apply(x));
    const mean1 = Array.from(net.state[0]!.dataSync());
    expect(mean1.some((m) => m !== 0)).toBe(true);
    // running mean = 0.9 · 0 + 0.1 · batch mean (PyTorch's momentum convention)
    // one example in training mode: its output depends on the batch; in evaluation it does not
    net.setTraining(false);
    const [alone, inBatch] = tf.tidy(() => [net.apply(tf.slice(x, 0, 1)).dataSync(), tf.slice(net.apply(x), 0, 1).dataSync()]);
    expect(Array.from(alone!)).toEqual(Array.from(inBatch!));
    // resume: a copy restored from the state continues exactly as the original
    const copy = encoder(block, [6, 6, 1], [2], {}, 4);
    [...net.variables, ...net.state].forEach((v, i) => [...copy.variables, ...copy.state][i]!.assign(v));
    for (const n of [net, copy]) {
      n.setTraining(true);
      tf.tidy(() => void n.apply(tf.reverse(x, 0)));
      n.setTraining(false);
    }
    expect(Array.from(copy.state[1]!.dataSync())).toEqual(Array.from(net.state[1]!.dataSync()));
    const [o1, o2] = tf.tidy(() => [net.apply(x).dataSync(), copy.apply(x).dataSync()]);
    expect(Array.from(o2!)).toEqual(Array.from(o1!));
    x.dispose();
    net.dispose();
    copy.dispose();
  });

  it('leaves no tensors behind in a gradient step', () => {
    const net = decoder({ channels: [4, 4], hidden: [], norm: 'batch', upsample: 'subpixel' }, 2, [8, 8, 1]);
    net.setTraining(true);
    const z = tf.ones([2, 2]);
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.sum(net.apply(z)) as tf.Scalar, net.variables);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const before = tf.memory().numTensors;
    step();
    expect(tf.memory().numTensors).toBe(before);
    z.dispose();
    net.dispose();
  });
});

describe('label conditioning (CVAE)', () => {
  it.each([
    ['conv', 'dense'],
    ['conv', 'maps'],
    ['resnet', 'dense'],
    ['resnet', 'maps'],
    ['mlp', 'dense'],
  ])('%s with condition: %s: the decoder output depends on the label, and gradients reach every variable', (name, condition) => {
    const opts = name === 'mlp' ? { name, hidden: [8] } : { name, channels: [4, 4], hidden: [8], condition };
    const dec = decoder(opts, 3, [8, 8, 1], { condDim: 10 });
    // seed 2: with seed 1 and these tiny maps one ReLU block happens to start dead
    const enc = encoder(opts, [8, 8, 1], [6], { condDim: 10 }, 2);
    tf.tidy(() => {
      const z = tf.randomNormal([2, 3], 0, 1, 'float32', 1);
      const y0 = dec.apply(z, tf.cast(tf.oneHot(tf.tensor1d([3, 3], 'int32'), 10), 'float32'));
      const y1 = dec.apply(z, tf.cast(tf.oneHot(tf.tensor1d([3, 7], 'int32'), 10), 'float32'));
      const diff = tf.abs(tf.sub(y0, y1));
      // same label, same output; another label, another output
      expect(tf.max(tf.slice(diff, [0], [1])).dataSync()[0]).toBe(0);
      expect(tf.max(tf.slice(diff, [1], [1])).dataSync()[0]).toBeGreaterThan(1e-4);
      const cond = tf.cast(tf.oneHot(tf.tensor1d([1, 2], 'int32'), 10), 'float32');
      for (const g of gradientNorms(dec, z, cond)) expect(g).toBeGreaterThan(0);
      gradientNorms(enc, tf.randomUniform([2, 8, 8, 1], 0, 1, 'float32', 2), cond).forEach((g, i) => expect([i, g]).not.toEqual([i, 0]));
    });
    expect(() => tf.tidy(() => dec.apply(tf.zeros([2, 3])))).toThrow(/built for a label condition of size 10/);
    expect(() => tf.tidy(() => dec.apply(tf.zeros([2, 3]), tf.zeros([2, 9])))).toThrow(/expected \[2, 10\]/);
    dec.dispose();
    enc.dispose();
  });

  it('a conv encoder without convolutions sizes its dense head for the label maps (condition: maps)', () => {
    const enc = encoder({ channels: [], hidden: [4], condition: 'maps' }, [5, 5, 1], [6], { condDim: 3 });
    tf.tidy(() => {
      const cond = tf.cast(tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3), 'float32');
      expect(enc.apply(tf.ones([2, 5, 5, 1]), cond).shape).toEqual([2, 6]);
    });
    expect(enc.variables[0]!.shape).toEqual([5 * 5 * (1 + 3), 4]);
    enc.dispose();
  });
});
