/* Float64 linear algebra for the flows' tests (not exported from index.ts). */

/** log|det| of a square matrix by LU with partial pivoting, float64. */
export function logAbsDet(a: number[][]): number {
  const m = a.map((row) => [...row]);
  let logDet = 0;
  for (let c = 0; c < m.length; c++) {
    let p = c;
    for (let r = c + 1; r < m.length; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    logDet += Math.log(Math.abs(m[c]![c]!));
    for (let r = c + 1; r < m.length; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let j = c; j < m.length; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  return logDet;
}

/** ∂g_i/∂x_j by central differences. */
export function jacobianFd(g: (x: number[]) => number[], x: number[], h = 1e-2): number[][] {
  const columns = x.map((_, j) => {
    const plus = [...x];
    const minus = [...x];
    plus[j]! += h;
    minus[j]! -= h;
    const gp = g(plus);
    const gm = g(minus);
    return gp.map((v, i) => (v - gm[i]!) / (2 * h));
  });
  return x.map((_, i) => columns.map((col) => col[i]!));
}
