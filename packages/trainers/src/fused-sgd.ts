import { FusedOptimizer, f32 } from './fused-optimizer.js';
import type { KernelName } from './wasm-kernels.js';

/**
 * SGD, with heavy-ball or Nesterov momentum when `momentum` > 0, as one pass per variable (see
 * fused-optimizer.ts). The same float32 operations in the same order as tf.train.sgd (momentum 0)
 * and tf.train.momentum, so the results are identical:
 *   θ ← (−lr)·g + θ;   or  a ← μ·a + g,  θ ← (−lr)·a + θ  (Nesterov: θ ← (−lr)·(g + a·μ) + θ)
 */
export class FusedSgdOptimizer extends FusedOptimizer {
  static get className(): string {
    return 'FusedSGD';
  }

  constructor(
    public learningRate: number,
    readonly momentum = 0,
    readonly nesterov = false,
  ) {
    super();
  }

  protected slotSuffixes(): readonly string[] {
    return this.momentum > 0 ? ['momentum'] : [];
  }

  protected kernel(): KernelName {
    return this.momentum > 0 ? (this.nesterov ? 'nesterov' : 'momentum') : 'sgd';
  }

  protected stepScalars(): number[] {
    return this.momentum > 0 ? [f32(this.momentum), f32(-this.learningRate)] : [f32(-this.learningRate)];
  }

  protected loop(param: Float32Array, grad: Float32Array, [acc]: Float32Array[], out: Float32Array, scalars: number[]): void {
    if (this.momentum === 0) {
      const negLr = scalars[0]!;
      for (let i = 0; i < param.length; i++) out[i] = f32(f32(negLr * grad[i]!) + param[i]!);
      return;
    }
    const [mu, negLr] = scalars as [number, number];
    for (let i = 0; i < param.length; i++) {
      const g = grad[i]!;
      const a = f32(f32(mu * acc![i]!) + g);
      acc![i] = a;
      const step = this.nesterov ? f32(negLr * f32(g + f32(a * mu))) : f32(negLr * a);
      out[i] = f32(step + param[i]!);
    }
  }

  getConfig() {
    return { learningRate: this.learningRate, momentum: this.momentum, useNesterov: this.nesterov };
  }
}
