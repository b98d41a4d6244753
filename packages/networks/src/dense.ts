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

/** A fully connected layer y = x W + b. Its variables are owned by the network that made it. */
export class Dense {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    readonly inputSize: number,
    readonly outputSize: number,
    init: Init,
    rng: RandomStream,
  ) {
    const [kernel, bias] = tf.tidy(() => {
      if (init === 'glorot_uniform') {
        const limit = Math.sqrt(6 / (inputSize + outputSize));
        return [rng.uniform([inputSize, outputSize], -limit, limit), tf.zeros([outputSize])];
      }
      const bound = 1 / Math.sqrt(inputSize);
      return [rng.uniform([inputSize, outputSize], -bound, bound), rng.uniform([outputSize], -bound, bound)];
    });
    this.kernel = tf.variable(kernel);
    this.bias = tf.variable(bias);
    kernel.dispose();
    bias.dispose();
  }

  // x: [batch, inputSize] -> [batch, outputSize]
  apply(x: tf.Tensor2D): tf.Tensor2D {
    // A plain matMul (no transpose flags): the fast kernel on wasm. Its gradient is routed through
    // explicit transposes by @vaelab/core's installFastMatMulGradient.
    return tf.add(tf.matMul(x, this.kernel as tf.Tensor2D), this.bias);
  }

  get variables(): tf.Variable[] {
    return [this.kernel, this.bias];
  }
}
