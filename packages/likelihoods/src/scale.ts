import * as tf from '@tensorflow/tfjs-core';
import { assertValues, broadcastTo, validationEnabled } from '@vaelab/core';
import { z } from 'zod';
import { checkParamShape, logAddExp } from './shared.js';

/*
 * The three ways a location-scale likelihood (gaussian, laplace) gets its scale s:
 *   fixed     s = the configured value;
 *   learned   s = floor + exp(r), r one scalar tf.Variable owned by the likelihood, shared by every
 *             value, initialised so that s starts at the configured value;
 *   per_pixel s = floor + exp(r), r emitted by the decoder for every value: the decoder output's
 *             last (channel) axis is doubled, channels-last, and split as [location | r].
 * With floor = 0, r is exactly log s. With floor > 0, log s = logaddexp(log floor, r) is computed
 * without forming s first, so log-densities stay finite even where exp(r) underflows.
 */

export type ScaleMode = 'fixed' | 'learned' | 'per_pixel';
export const SCALE_MODES = ['fixed', 'learned', 'per_pixel'] as const;

export interface ScaleConfig {
  mode: ScaleMode;
  /** The fixed scale, or the learned scale's initial value. */
  value: number;
  /** Lower bound added to exp(r) in the learned and per-pixel modes. */
  floor: number;
}

/** Location, scale and log-scale of a batch, all of the location's shape. */
export interface LocationScale {
  loc: tf.Tensor;
  scale: tf.Tensor;
  logScale: tf.Tensor;
}

/** The `scale` option shared by gaussian (σ) and laplace (b). */
export function scaleModeOption(symbol: string, valueKey: string) {
  return z
    .enum(SCALE_MODES)
    .default('fixed')
    .describe(`fixed: ${symbol} = ${valueKey}; learned: one learned ${symbol} shared by all values; per_pixel: the decoder emits log ${symbol} per value`);
}

/** Cross-option checks of a scale config, for `.superRefine` (reported at the option's config path). */
export function refineScaleOptions(valueKey: string, floorKey: string, symbol: string) {
  return (o: { scale: ScaleMode } & Record<string, unknown>, ctx: z.RefinementCtx): void => {
    const value = o[valueKey] as number;
    const floor = o[floorKey] as number;
    if (o.scale === 'fixed' && floor > 0) {
      ctx.addIssue({
        code: 'custom',
        path: [floorKey],
        message: `${floorKey} applies only to scale: learned or per_pixel; with scale: fixed set ${valueKey} instead`,
      });
    }
    if (o.scale === 'learned' && !(value > floor)) {
      ctx.addIssue({ code: 'custom', path: [valueKey], message: `the initial ${symbol} (${value}) must exceed ${floorKey} (${floor})` });
    }
  };
}

/** Owns the learned scale's variable (when there is one) and turns decoder output into location and scale. */
export class ScaleParameter {
  readonly variables: tf.Variable[];
  /** The learned r (learned mode only). */
  readonly raw: tf.Variable | undefined;

  constructor(
    readonly who: string,
    readonly symbol: string,
    readonly config: ScaleConfig,
  ) {
    const { mode, value, floor } = config;
    if (!(value > 0) || !Number.isFinite(value)) throw new Error(`${who}: the scale ${symbol} must be positive and finite, got ${value}`);
    if (!(floor >= 0) || !Number.isFinite(floor)) throw new Error(`${who}: the floor on ${symbol} must be non-negative and finite, got ${floor}`);
    if (mode === 'learned') {
      if (!(value > floor)) throw new Error(`${who}: the initial ${symbol} (${value}) must exceed the floor (${floor})`);
      this.raw = tf.variable(tf.scalar(Math.log(value - floor)), true);
      this.variables = [this.raw];
    } else {
      this.raw = undefined;
      this.variables = [];
    }
  }

  /** [...dataShape] for fixed and learned; per_pixel doubles the last axis. */
  paramShape(dataShape: number[]): number[] {
    if (this.config.mode !== 'per_pixel') return [...dataShape];
    if (dataShape.length === 0) throw new Error(`${this.who}: scale: per_pixel needs data with at least one axis`);
    return [...dataShape.slice(0, -1), 2 * dataShape[dataShape.length - 1]!];
  }

  /** The current learned scale (learned mode), a plain number for logs and tests. */
  learnedScale(): number | undefined {
    if (!this.raw) return undefined;
    return this.config.floor + Math.exp(this.raw.dataSync()[0]!);
  }

  /** floor + exp(r) and its log, from r of any shape. */
  private fromRaw(raw: tf.Tensor): { scale: tf.Tensor; logScale: tf.Tensor } {
    const { floor } = this.config;
    if (floor === 0) return { scale: tf.exp(raw), logScale: raw };
    return { scale: tf.add(floor, tf.exp(raw)), logScale: logAddExp(tf.fill(raw.shape, Math.log(floor)), raw) };
  }

  /** params: [batch, ...paramShape(dataShape)] -> location and scale of shape [batch, ...dataShape]. */
  split(params: tf.Tensor, dataShape: number[]): LocationScale {
    checkParamShape(this.who, params, this.paramShape(dataShape), dataShape);
    const { mode, value } = this.config;
    let out: LocationScale;
    if (mode === 'fixed') {
      out = { loc: params, scale: tf.fill(params.shape, value), logScale: tf.fill(params.shape, Math.log(value)) };
    } else if (mode === 'learned') {
      const { scale, logScale } = this.fromRaw(this.raw!);
      out = { loc: params, scale: broadcastTo(scale, params.shape), logScale: broadcastTo(logScale, params.shape) };
    } else {
      const [loc, raw] = tf.split(params, 2, params.rank - 1) as [tf.Tensor, tf.Tensor];
      out = { loc, ...this.fromRaw(raw) };
    }
    if (validationEnabled()) {
      assertValues(this.who, `scale ${this.symbol}`, out.scale, { allowed: 'positive and finite', above: 0, below: Infinity });
    }
    return out;
  }

  dispose(): void {
    this.raw?.dispose();
  }
}
