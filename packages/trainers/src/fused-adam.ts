import { FusedOptimizer, f32 } from './fused-optimizer.js';
import type { KernelName } from './wasm-kernels.js';

/**
 * Adam (Kingma & Ba 2015, Algorithm 1) as one pass per variable (see fused-optimizer.ts), with
 * the same float32 operations in the same order as tf.train.adam, so the results are identical:
 *   m ← m·β₁ + g·(1−β₁)        v ← v·β₂ + g²·(1−β₂)
 *   θ ← (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε) · (−lr) + θ
 * β₁ᵗ and β₂ᵗ are kept by repeated float32 multiplication, as tf.train.adam keeps them; they are
 * plain numbers rebuilt from the step count by the same products in setWeights, so a restored
 * optimizer continues bit for bit (tf.train.adam needs its accBeta scalars saved for that).
 */
export class FusedAdamOptimizer extends FusedOptimizer {
  static get className(): string {
    return 'FusedAdam';
  }

  /** β₁ᵗ and β₂ᵗ for the next update, as float32 values. */
  private beta1Power: number;
  private beta2Power: number;

  constructor(
    public learningRate: number,
    readonly beta1: number,
    readonly beta2: number,
    readonly epsilon: number,
  ) {
    super();
    this.beta1Power = f32(beta1);
    this.beta2Power = f32(beta2);
  }

  protected slotSuffixes(): readonly string[] {
    return ['m', 'v'];
  }

  protected kernel(): KernelName {
    return 'adam';
  }

  protected stepScalars(): number[] {
    return [
      f32(this.beta1),
      f32(1 - this.beta1),
      f32(this.beta2),
      f32(1 - this.beta2),
      f32(1 - this.beta1Power),
      f32(1 - this.beta2Power),
      f32(this.epsilon),
      f32(-this.learningRate),
    ];
  }

  protected loop(param: Float32Array, grad: Float32Array, [m, v]: Float32Array[], out: Float32Array, scalars: number[]): void {
    const [beta1, oneMinusBeta1, beta2, oneMinusBeta2, oneMinusBeta1Power, oneMinusBeta2Power, epsilon, negLr] = scalars as [
      number, number, number, number, number, number, number, number,
    ];
    for (let i = 0; i < param.length; i++) {
      const g = grad[i]!;
      const mi = f32(f32(m![i]! * beta1) + f32(g * oneMinusBeta1));
      const vi = f32(f32(v![i]! * beta2) + f32(f32(g * g) * oneMinusBeta2));
      m![i] = mi;
      v![i] = vi;
      const denominator = f32(f32(Math.sqrt(f32(vi / oneMinusBeta2Power))) + epsilon);
      out[i] = f32(f32(f32(f32(mi / oneMinusBeta1Power) / denominator) * negLr) + param[i]!);
    }
  }

  protected override afterStep(): void {
    this.beta1Power = f32(this.beta1Power * f32(this.beta1));
    this.beta2Power = f32(this.beta2Power * f32(this.beta2));
  }

  protected override afterRestore(): void {
    // β^(t+1) by the same float32 products an uninterrupted run took: exact, unlike pow().
    this.beta1Power = f32(this.beta1);
    this.beta2Power = f32(this.beta2);
    for (let t = 0; t < this.iterations_; t++) this.afterStep();
  }

  getConfig() {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }
}
