import * as tf from '@tensorflow/tfjs-core';
import { RandomStreams } from '@vaelab/core';
import { afterAll, describe, expect, it } from 'vitest';
import { Dense, FeatureMajorDense } from './dense.js';
import { Mlp, type MlpOptions } from './mlp.js';

/*
 * The MLP runs its layers feature-major (kernel [out, in], activations [features, batch]). Here its
 * output and the gradient of every variable, on the test backend (wasm, with @vaelab/core's matMul
 * gradient), against the same network written batch-major on the cpu backend with stock tfjs
 * autodiff. The reference uses no matMul at all (a broadcast multiply and a sum), so the matMul
 * gradient installed over tfjs's own plays no part in it.
 */

const backend = tf.getBackend();
afterAll(async () => {
  await tf.setBackend(backend);
});

interface Case {
  name: string;
  inputShape: number[];
  outputShape: number[];
  options: MlpOptions;
  condDim: number;
}

const CASES: Case[] = [
  { name: 'relu, 2 hidden layers, image-shaped input and output', inputShape: [3, 2], outputShape: [2, 2], options: { hidden: [7, 5], activation: 'relu', init: 'uniform_fan_in' }, condDim: 0 },
  { name: 'tanh, square hidden layer, glorot', inputShape: [6], outputShape: [3], options: { hidden: [6, 6], activation: 'tanh', init: 'glorot_uniform' }, condDim: 0 },
  { name: 'no hidden layer', inputShape: [5], outputShape: [4], options: { hidden: [], activation: 'relu', init: 'uniform_fan_in' }, condDim: 0 },
  { name: 'conditional (one-hot label concatenated to the input)', inputShape: [4], outputShape: [6], options: { hidden: [8], activation: 'elu', init: 'uniform_fan_in' }, condDim: 3 },
];

const BATCH = 5;

function inputs(c: Case) {
  const s = new RandomStreams(17);
  const x = s.stream('x').normal([BATCH, ...c.inputShape]);
  const cond = c.condDim > 0 ? tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d([0, 2, 1, 2, 0], 'int32'), c.condDim), 'float32')) : undefined;
  const probe = s.stream('probe').normal([BATCH, ...c.outputShape]);
  return { x, cond, probe };
}

/** Output, loss Σ out·probe, and each variable's gradient, all as plain arrays. */
function mine(c: Case) {
  const mlp = new Mlp(c.inputShape, c.outputShape, c.options, new RandomStreams(3).stream('init'), c.condDim);
  const { x, cond, probe } = inputs(c);
  const result = tf.tidy(() => {
    const out = mlp.apply(x, cond);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(mlp.apply(x, cond), probe)) as tf.Scalar, mlp.variables);
    return {
      shape: out.shape,
      out: Array.from(out.dataSync()),
      loss: value.dataSync()[0]!,
      grads: mlp.variables.map((v) => Array.from(grads[v.name]!.dataSync())),
    };
  });
  // the values the reference needs, in the reference's layout: kernels [in, out]
  const params = mlp.layers.map((l) => ({ kernel: tf.transpose(l.kernel).arraySync() as number[][], bias: Array.from(l.bias.dataSync()) }));
  tf.dispose([x, cond, probe]);
  mlp.dispose();
  return { ...result, params };
}

/** The same network batch-major, y = act(x W + b), with W [in, out], on whatever backend is active. */
function reference(c: Case, params: { kernel: number[][]; bias: number[] }[]) {
  const { x, cond, probe } = inputs(c);
  const vars = params.flatMap((p) => [tf.variable(tf.tensor2d(p.kernel)), tf.variable(tf.tensor1d(p.bias))]);
  const act = (h: tf.Tensor): tf.Tensor => (c.options.activation === 'relu' ? tf.relu(h) : c.options.activation === 'tanh' ? tf.tanh(h) : tf.elu(h));
  const forward = (): tf.Tensor => {
    let h: tf.Tensor = tf.reshape(x, [BATCH, -1]);
    if (cond) h = tf.concat([h, cond], 1);
    for (let i = 0; i < params.length; i++) {
      const [w, b] = [vars[2 * i]!, vars[2 * i + 1]!];
      // Σ_k h[b, k] W[k, o] as a broadcast product and a sum: no matMul
      h = tf.add(tf.sum(tf.mul(tf.expandDims(h, 2), tf.expandDims(w, 0)), 1), b);
      if (i < params.length - 1) h = act(h);
    }
    return tf.reshape(h, [BATCH, ...c.outputShape]);
  };
  const result = tf.tidy(() => {
    const out = forward();
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(forward(), probe)) as tf.Scalar, vars);
    return {
      shape: out.shape,
      out: Array.from(out.dataSync()),
      loss: value.dataSync()[0]!,
      // kernel gradients back in the MLP's layout [out, in]
      grads: vars.map((v) => Array.from((v.rank === 2 ? tf.transpose(grads[v.name]!) : grads[v.name]!).dataSync())),
    };
  });
  tf.dispose([x, cond, probe, ...vars]);
  return result;
}

function relErr(a: number[], b: number[]): number {
  const scale = Math.max(1e-6, ...b.map(Math.abs));
  return Math.max(0, ...a.map((v, i) => Math.abs(v - b[i]!))) / scale;
}

describe('feature-major MLP against batch-major tfjs autodiff on cpu', () => {
  it.each(CASES)('$name: output, loss and every gradient', async (c) => {
    expect(tf.getBackend()).toBe('wasm');
    const m = mine(c);
    await tf.setBackend('cpu');
    let r: ReturnType<typeof reference>;
    try {
      r = reference(c, m.params);
    } finally {
      await tf.setBackend(backend);
    }
    expect(m.shape).toEqual([BATCH, ...c.outputShape]);
    expect(m.shape).toEqual(r.shape);
    // float32: the same sums in different orders on two backends
    expect(relErr(m.out, r.out)).toBeLessThan(1e-5);
    expect(Math.abs(m.loss - r.loss) / Math.max(1, Math.abs(r.loss))).toBeLessThan(1e-5);
    expect(m.grads.length).toBe(2 * (c.options.hidden.length + 1));
    m.grads.forEach((g, i) => expect(relErr(g, r.grads[i]!), `variable ${i} (kernel, bias per layer)`).toBeLessThan(1e-5));
  });
});

describe('feature-major layer', () => {
  it('holds the same initial values as the batch-major Dense for a seed, transposed', () => {
    for (const init of ['uniform_fan_in', 'glorot_uniform'] as const) {
      const a = new Dense(7, 3, init, new RandomStreams(4).stream('i'));
      const b = new FeatureMajorDense(7, 3, init, new RandomStreams(4).stream('i'));
      expect(b.kernel.shape).toEqual([3, 7]);
      expect(b.bias.shape).toEqual([3]);
      const at = tf.tidy(() => tf.transpose(a.kernel).dataSync());
      expect(Array.from(b.kernel.dataSync())).toEqual(Array.from(at));
      expect(Array.from(b.bias.dataSync())).toEqual(Array.from(a.bias.dataSync()));
      for (const v of [...a.variables, ...b.variables]) v.dispose();
    }
  });

  it('tags its kernel for checkpoints (an untagged value is a transposed one) and not its bias', () => {
    const l = new FeatureMajorDense(4, 2, 'uniform_fan_in', new RandomStreams(1).stream('i'));
    const layout = (v: tf.Variable) => (v as unknown as Record<symbol, { tag: string; fromUntagged(t: tf.Tensor): tf.Tensor } | undefined>)[Symbol.for('vaelab.checkpoint.layout')];
    expect(layout(l.kernel)?.tag).toBe('dense_kernel_out_in');
    expect(layout(l.bias)).toBeUndefined();
    const back = tf.tidy(() => layout(l.kernel)!.fromUntagged(tf.transpose(l.kernel)).dataSync());
    expect(Array.from(back)).toEqual(Array.from(l.kernel.dataSync()));
    for (const v of l.variables) v.dispose();
  });
});

describe('feature-major MLP in training', () => {
  it('leaks no tensors over training steps (Adam), conditional or not', () => {
    for (const c of [CASES[0]!, CASES[3]!]) {
      const mlp = new Mlp(c.inputShape, c.outputShape, c.options, new RandomStreams(3).stream('init'), c.condDim);
      const { x, cond, probe } = inputs(c);
      const optimizer: tf.Optimizer = tf.train.adam(0.01);
      const losses: number[] = [];
      const counts: number[] = [];
      for (let step = 0; step < 6; step++) {
        const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(mlp.apply(x, cond), probe))) as tf.Scalar, mlp.variables);
        optimizer.applyGradients(grads);
        losses.push(value.dataSync()[0]!);
        tf.dispose([value, grads]);
        counts.push(tf.memory().numTensors);
      }
      // the first step creates Adam's slots; after it the count stays put
      expect(new Set(counts.slice(1)).size).toBe(1);
      expect(losses[5]!).toBeLessThan(losses[0]!);
      optimizer.dispose();
      tf.dispose([x, cond, probe]);
      mlp.dispose();
    }
  });

  it('a conditional MLP depends on the label and says when the label is missing', () => {
    const c = CASES[3]!;
    const mlp = new Mlp(c.inputShape, c.outputShape, c.options, new RandomStreams(3).stream('init'), c.condDim);
    const [a, b] = tf.tidy(() => {
      const x = tf.ones([2, 4]);
      const onehot = (k: number) => tf.cast(tf.oneHot(tf.tensor1d([k, k], 'int32'), 3), 'float32');
      return [Array.from(mlp.apply(x, onehot(0)).dataSync()), Array.from(mlp.apply(x, onehot(1)).dataSync())];
    });
    expect(a).not.toEqual(b);
    expect(() => tf.tidy(() => mlp.apply(tf.ones([2, 4])))).toThrow(/condition|label|cond/i);
    mlp.dispose();
  });
});
