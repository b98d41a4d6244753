import * as tf from '@tensorflow/tfjs-core';
import type { RandomStream } from '@vaelab/core';

export type Activation = 'relu' | 'tanh' | 'elu' | 'leaky_relu' | 'sigmoid' | 'softplus' | 'linear';
export const ACTIVATIONS: readonly Activation[] = ['relu', 'tanh', 'elu', 'leaky_relu', 'sigmoid', 'softplus', 'linear'];

/**
 * Weight initializations.
 * - `uniform_fan_in`: W, b ~ U(−1/√fan_in, 1/√fan_in), PyTorch's nn.Linear default, which the
 *   reference MNIST VAE uses.
 * - `glorot_uniform`: W ~ U(±√(6/(fan_in+fan_out))), b = 0 (Glorot & Bengio 2010), the Keras default.
 */
export type Init = 'uniform_fan_in' | 'glorot_uniform';
export const INITS: readonly Init[] = ['uniform_fan_in', 'glorot_uniform'];

export function activate(x: tf.Tensor, activation: Activation): tf.Tensor {
  switch (activation) {
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'elu':
      return tf.elu(x);
    case 'leaky_relu':
      return tf.leakyRelu(x, 0.2);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'softplus':
      return tf.softplus(x);
    case 'linear':
      return x;
  }
}

/**
 * Initial kernel (of `shape`) and bias ([biasSize]), drawn from `rng` in that order:
 * U(±1/√fan_in) for both (PyTorch's default for linear and convolution layers), or Glorot uniform
 * with a zero bias.
 */
export function initWeights(shape: number[], fanIn: number, fanOut: number, biasSize: number, init: Init, rng: RandomStream): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    if (init === 'glorot_uniform') {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      return [rng.uniform(shape, -limit, limit), tf.zeros([biasSize])];
    }
    const bound = 1 / Math.sqrt(fanIn);
    return [rng.uniform(shape, -bound, bound), rng.uniform([biasSize], -bound, bound)];
  });
}

/** Variables that own `values` (disposed here). */
export function own(values: tf.Tensor[]): tf.Variable[] {
  const vars = values.map((v) => tf.variable(v));
  tf.dispose(values);
  return vars;
}

/** A layer with a kernel and a bias, the variables owning the initial values it is given. */
export abstract class KernelBias {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;

  protected constructor([kernel, bias]: [tf.Tensor, tf.Tensor]) {
    [this.kernel, this.bias] = own([kernel, bias]) as [tf.Variable, tf.Variable];
  }

  get variables(): tf.Variable[] {
    return [this.kernel, this.bias];
  }
}

/** A dense layer's initial values: kernel [inputSize, outputSize], or [outputSize, inputSize] when `featureMajor`. */
function denseValues(inputSize: number, outputSize: number, init: Init, rng: RandomStream, featureMajor: boolean): [tf.Tensor, tf.Tensor] {
  const [kernel, bias] = initWeights([inputSize, outputSize], inputSize, outputSize, outputSize, init, rng);
  if (!featureMajor) return [kernel, bias];
  const transposed = tf.tidy(() => tf.transpose(kernel));
  kernel.dispose();
  return [transposed, bias];
}

/**
 * A fully connected layer y = x W + b on batch-major activations, kernel [inputSize, outputSize].
 * Its variables are owned by the network that made it. (The MLP uses `FeatureMajorDense`.)
 */
export class Dense extends KernelBias {
  constructor(
    readonly inputSize: number,
    readonly outputSize: number,
    init: Init,
    rng: RandomStream,
  ) {
    super(denseValues(inputSize, outputSize, init, rng, false));
  }

  // x: [batch, inputSize] -> [batch, outputSize]
  apply(x: tf.Tensor2D): tf.Tensor2D {
    // A plain matMul (no transpose flags): the fast kernel on wasm. Its gradient is routed through
    // explicit transposes by @vaelab/core's installFastMatMulGradient.
    return tf.add(tf.matMul(x, this.kernel as tf.Tensor2D), this.bias);
  }
}

/**
 * How a variable tells the checkpoint code (@vaelab/trainers, `CHECKPOINT_LAYOUT`) the layout of its
 * values: recorded when saved, and used to convert a value saved before that layout existed. A
 * registry symbol, so that this package need not depend on the trainers.
 */
const CHECKPOINT_LAYOUT = Symbol.for('vaelab.checkpoint.layout');

/** The layout tag of a `FeatureMajorDense` kernel in checkpoints: [outputSize, inputSize]. */
export const FEATURE_MAJOR_KERNEL_LAYOUT = 'dense_kernel_out_in';

/**
 * A fully connected layer on feature-major activations: h = W x + b with x [inputSize, batch],
 * kernel W [outputSize, inputSize], bias b [outputSize] (broadcast as a column), h [outputSize, batch].
 *
 * Why: tfjs-wasm caches its XNNPACK fully-connected operator, with the packed right-hand operand,
 * by that operand's tensor id. In x W the right-hand operand is the weight, which training replaces
 * every step, so every call re-packs it (the biggest, 784×400, costs ~1.4 ms). In W x it is the
 * activation, at most batch × features values. The gradient, through @vaelab/core's
 * installFastMatMulGradient, is dW = g · transpose(x) and dx = transpose(W) · g: plain matMuls
 * whose right-hand operands are activations or gradients too.
 *
 * Initial values are those of `Dense` (same draws from `rng`), stored transposed, so a seed gives
 * the same model in either layout. The kernel is tagged for checkpoints: one saved by a version that
 * stored the MLP's kernels as [inputSize, outputSize] is transposed on load (with its optimizer slots).
 */
export class FeatureMajorDense extends KernelBias {
  /** kernel: [outputSize, inputSize]; bias: [outputSize] */
  constructor(
    readonly inputSize: number,
    readonly outputSize: number,
    init: Init,
    rng: RandomStream,
  ) {
    super(denseValues(inputSize, outputSize, init, rng, true));
    Object.defineProperty(this.kernel, CHECKPOINT_LAYOUT, {
      value: { tag: FEATURE_MAJOR_KERNEL_LAYOUT, fromUntagged: (saved: tf.Tensor) => tf.transpose(saved) },
    });
  }

  // x: [inputSize, batch] -> [outputSize, batch]
  apply(x: tf.Tensor2D): tf.Tensor2D {
    // A plain matMul (no transpose flags) with the activation as the right-hand operand; the bias
    // [outputSize] is read as a column [outputSize, 1] (a reshape shares the data), so its
    // gradient is the sum of the output's gradient over the batch axis (axis 1).
    return tf.add(tf.matMul(this.kernel as tf.Tensor2D, x), tf.reshape(this.bias, [this.outputSize, 1]));
  }
}
