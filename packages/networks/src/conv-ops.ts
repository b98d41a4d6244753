import * as tf from '@tensorflow/tfjs-core';

/*
 * Convolutions that train on every backend, wasm included. tfjs-wasm 4.22 registers Conv2D
 * (XNNPACK) and Conv2DBackpropInput (a slow scalar loop) but no Conv2DBackpropFilter, so the stock
 * gradient of a convolution's weights fails there. Every quantity below is computed by the forward
 * Conv2D kernel instead (measured on this machine, batch 128, 4×4 kernels, stride 2; see the
 * package README):
 * - the input gradient (= a transposed convolution) by the sub-pixel decomposition: one stride-1
 *   convolution of the un-dilated output gradient with the s² phase kernels, then depth-to-space,
 *   which costs what the forward pass costs (dilating with zeros instead costs s² times more, and
 *   Conv2DBackpropInput 10× more);
 * - the weight gradient as a dilated convolution in which the batch plays the channels' part
 *   (dW[kh, kw, c, o] = Σ_b,p x[b, s·p + k − pad, c] · dy[b, p, o]).
 * The im2col form (patches, then a plain matMul) is exact too but measured 20× slower here: the
 * strided slices and the concat that build the patches dominate.
 * Padding is TensorFlow's 'same': output size ceil(input / stride).
 */

type T4 = tf.Tensor4D;

/** 'same' padding before the first row/column for a kernel k, stride s, input size n. */
export function samePadBefore(n: number, k: number, s: number): number {
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + k - n, 0);
  return Math.floor(total / 2);
}

/**
 * Pad (positive) or crop (negative) the spatial axes 1 and 2 of a rank-4 tensor by [top, bottom]
 * and [left, right]: at most one slice and one pad, since each is a full pass over the tensor.
 */
function padOrCrop(x: T4, top: number, bottom: number, left: number, right: number): T4 {
  let y = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [b, h, w, c] = y.shape;
    const [t, l] = [Math.max(-top, 0), Math.max(-left, 0)];
    y = tf.slice(y, [0, t, l, 0], [b, h - t - Math.max(-bottom, 0), w - l - Math.max(-right, 0), c]);
  }
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    const p = (v: number) => Math.max(v, 0);
    y = tf.pad(y, [[0, 0], [p(top), p(bottom)], [p(left), p(right)], [0, 0]]);
  }
  return y;
}

/** Depth-to-space (Shi et al. 2016) as a reshape and a transpose, so that it has a gradient. x: [b, h, w, r·r·c] -> [b, r·h, r·w, c]. */
export function depthToSpace(x: T4, r: number): T4 {
  if (r === 1) return x;
  const [b, h, w, d] = x.shape;
  const c = d / (r * r);
  // channel index (ry·r + rx)·c + ch, as tf.depthToSpace (NHWC) orders it
  const split = tf.reshape(x, [b, h, w, r, r, c]);
  return tf.reshape(tf.transpose(split, [0, 1, 3, 2, 4, 5]), [b, h * r, w * r, c]);
}

/** Nearest-neighbour upsampling by an integer factor, as a broadcast multiply (its gradient sums the copies). x: [b, h, w, c] -> [b, r·h, r·w, c]. */
export function upsampleNearest(x: T4, r: number): T4 {
  if (r === 1) return x;
  const [b, h, w, c] = x.shape;
  const spread = tf.mul(tf.reshape(x, [b, h, 1, w, 1, c]), tf.ones([1, 1, r, 1, r, 1]));
  return tf.reshape(spread, [b, h * r, w * r, c]);
}

/**
 * The transposed convolution: the input gradient of a 'same' convolution with filter w
 * [k, k, cIn, cOut] and stride s, evaluated at dy [b, ho, wo, cOut], for an input of spatial size
 * [h, w]. Sub-pixel decomposition: with i + pad = s·q + r, dx[i] = Σ_m dy[q − m] · w[s·m + r], a
 * stride-1 correlation of dy with the flipped phase kernels, one output channel block per phase r.
 */
export function convInputGrad(dy: T4, w: T4, h: number, wd: number, s: number): T4 {
  const [k, , cIn, cOut] = w.shape;
  const [b, ho, wo] = dy.shape;
  const padTop = samePadBefore(h, k, s);
  const padLeft = samePadBefore(wd, k, s);
  if (s === 1) {
    // Plain correlation with the flipped kernel, in/out channels swapped.
    const flipped = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as T4;
    const d = padOrCrop(dy, k - 1 - padTop, h + padTop - ho, k - 1 - padLeft, wd + padLeft - wo);
    return tf.conv2d(d, flipped, 1, 'valid');
  }
  const m = Math.ceil(k / s);
  // w zero-padded to m·s taps, kernel index s·mi + r split into (mi, r); flip mi for a correlation.
  const padded = tf.pad(w, [[0, m * s - k], [0, m * s - k], [0, 0], [0, 0]]);
  const phases = tf.reverse(tf.reshape(padded, [m, s, m, s, cIn, cOut]), [0, 2]);
  // [m, m, cOut, s, s, cIn] -> [m, m, cOut, s·s·cIn]: output channel (ry·s + rx)·cIn + c.
  const kernel = tf.reshape(tf.transpose(phases, [0, 2, 5, 1, 3, 4]), [m, m, cOut, s * s * cIn]) as T4;
  const qh = Math.ceil((h + padTop) / s);
  const qw = Math.ceil((wd + padLeft) / s);
  const d = padOrCrop(dy, m - 1, qh - ho, m - 1, qw - wo);
  const full = depthToSpace(tf.conv2d(d, kernel, 1, 'valid'), s); // [b, s·qh, s·qw, cIn]
  return padTop === 0 && padLeft === 0 && full.shape[1] === h && full.shape[2] === wd ? full : tf.slice(full, [0, padTop, padLeft, 0], [b, h, wd, cIn]);
}

/**
 * The weight gradient of a 'same' convolution with stride s and a k×k kernel: x [b, h, w, cIn],
 * dy [b, ho, wo, cOut] -> [k, k, cIn, cOut]. A valid convolution of x (batch moved to the channel
 * axis) with dy (as a filter whose input channels are the batch), dilated by the stride.
 */
export function convFilterGrad(x: T4, dy: T4, k: number, s: number): T4 {
  const [, h, wd] = x.shape;
  const [, ho, wo] = dy.shape;
  const padTop = samePadBefore(h, k, s);
  const padLeft = samePadBefore(wd, k, s);
  const xt = padOrCrop(tf.transpose(x, [3, 1, 2, 0]) as T4, padTop, k + (ho - 1) * s - h - padTop, padLeft, k + (wo - 1) * s - wd - padLeft); // [cIn, h', w', b]
  const filter = tf.transpose(dy, [1, 2, 0, 3]) as T4; // [ho, wo, b, cOut]
  const out = tf.conv2d(xt, filter, 1, 'valid', 'NHWC', s); // [cIn, k, k, cOut]
  return tf.transpose(out, [1, 2, 0, 3]);
}

/**
 * y = conv(x, w), 'same' padding, stride s: x [b, h, w, cIn], w [k, k, cIn, cOut] ->
 * [b, ceil(h/s), ceil(w/s), cOut]. `inputGrad: false` (a network's first layer, whose input is
 * data) skips the input gradient's computation and reports zeros for it.
 */
export const conv2d: (x: T4, w: T4, stride: number, inputGrad?: boolean) => T4 = (x, w, stride, inputGrad = true) => {
  const op = tf.customGrad(((xx: tf.Tensor, ww: tf.Tensor, save: tf.GradSaveFunc) => {
    const xi = xx as T4;
    const wi = ww as T4;
    save([xi, wi]);
    return {
      value: tf.conv2d(xi, wi, stride, 'same'),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [T4, T4];
        const dx = inputGrad ? convInputGrad(dy as T4, sw, sx.shape[1], sx.shape[2], stride) : tf.zerosLike(sx);
        return [dx, convFilterGrad(sx, dy as T4, sw.shape[0], stride)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, w) as T4;
};

/**
 * The transposed convolution with stride s ('same': output s·h × s·w): x [b, h, w, cIn], w [k, k,
 * cOut, cIn] (the filter of the convolution it transposes, as tf.conv2dTranspose takes it) ->
 * [b, s·h, s·w, cOut]. Its input gradient is that convolution; its weight gradient the
 * convolution's weight gradient with the roles of input and output swapped.
 */
export const conv2dTranspose: (x: T4, w: T4, stride: number) => T4 = (x, w, stride) => {
  const op = tf.customGrad(((xx: tf.Tensor, ww: tf.Tensor, save: tf.GradSaveFunc) => {
    const xi = xx as T4;
    const wi = ww as T4;
    save([xi, wi]);
    const [, h, wd] = xi.shape;
    return {
      value: convInputGrad(xi, wi, h * stride, wd * stride, stride),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [T4, T4];
        return [tf.conv2d(dy as T4, sw, stride, 'same'), convFilterGrad(dy as T4, sx, sw.shape[0], stride)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, w) as T4;
};
