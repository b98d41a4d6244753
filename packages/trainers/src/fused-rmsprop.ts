import { FusedOptimizer, f32 } from './fused-optimizer.js';
import type { KernelName } from './wasm-kernels.js';

/**
 * RMSProp (Tieleman & Hinton 2012; tfjs's uncentered form) as one pass per variable (see
 * fused-optimizer.ts). The same float32 operations in the same order as tf.train.rmsprop, so the
 * results are identical:
 *   s ← s·ρ + g²·(1−ρ);   a ← a·μ + (g·lr)/√(s + ε);   θ ← θ − a
 */
export class FusedRmspropOptimizer extends FusedOptimizer {
  static get className(): string {
    return 'FusedRMSProp';
  }

  constructor(
    public learningRate: number,
    readonly decay: number,
    readonly momentum: number,
    readonly epsilon: number,
  ) {
    super();
  }

  protected slotSuffixes(): readonly string[] {
    return ['rms', 'momentum'];
  }

  protected kernel(): KernelName {
    return 'rmsprop';
  }

  protected stepScalars(): number[] {
    return [f32(this.decay), f32(1 - this.decay), f32(this.momentum), f32(this.learningRate), f32(this.epsilon)];
  }

  protected loop(param: Float32Array, grad: Float32Array, [ms, mom]: Float32Array[], out: Float32Array, scalars: number[]): void {
    const [decay, oneMinusDecay, mu, lr, epsilon] = scalars as [number, number, number, number, number];
    for (let i = 0; i < param.length; i++) {
      const g = grad[i]!;
      const s = f32(f32(ms![i]! * decay) + f32(f32(g * g) * oneMinusDecay));
      ms![i] = s;
      const a = f32(f32(mom![i]! * mu) + f32(f32(g * lr) / f32(Math.sqrt(f32(s + epsilon)))));
      mom![i] = a;
      out[i] = f32(param[i]! - a);
    }
  }

  getConfig() {
    return { learningRate: this.learningRate, decay: this.decay, momentum: this.momentum, epsilon: this.epsilon };
  }
}
