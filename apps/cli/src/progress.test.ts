import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Progress, formatDuration, progressSettings } from './progress.js';

describe('progress', () => {
  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(61.4)).toBe('1:01');
    expect(formatDuration(3725)).toBe('1:02:05');
    expect(formatDuration(null)).toBe('—');
  });

  it('chooses a bar on a terminal, lines elsewhere, nothing when quiet', () => {
    expect(progressSettings({}, true).mode).toBe('bar');
    expect(progressSettings({}, false)).toEqual({ mode: 'lines', intervalSeconds: 30 });
    expect(progressSettings({ quiet: true, logInterval: 5 }, true)).toEqual({ mode: 'quiet', intervalSeconds: 5 });
  });

  it('prints a plain line at the interval with rate and ETA, counting only work done in this process', () => {
    let t = 1_000_000;
    const lines: string[] = [];
    const p = new Progress({ mode: 'lines', intervalSeconds: 10, label: 'train step', total: 100, startAt: 20, write: (l) => lines.push(l), now: () => t });
    t += 5000;
    p.update({ done: 30, samples: 1280, detail: 'loss 1.00' });
    expect(lines).toEqual([]); // 5 s < 10 s
    t += 5000;
    p.update({ done: 40, samples: 1280, detail: 'loss 0.50' });
    // 20 steps in 10 s -> 60 steps left take 30 s; 2560 samples in 10 s.
    expect(lines).toEqual(['train step 40/100 (40.0%) loss 0.50 | 256 samples/s | elapsed 0:10, ETA 0:30']);
    t += 1000;
    p.update({ done: 42, samples: 256 });
    expect(lines).toHaveLength(1);
  });

  it('draws a bar with elapsed time, ETA, samples/s and the detail on a terminal', () => {
    let t = 0;
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 200, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
    let drawn = '';
    stream.on('data', (b: Buffer) => (drawn += b.toString()));
    const p = new Progress({ mode: 'bar', intervalSeconds: 30, label: 'eval', total: 10, write: () => {}, stream, now: () => t });
    t += 2000;
    p.update({ done: 5, samples: 500, detail: 'K = 100' });
    p.stop();
    expect(drawn).toContain('eval [');
    expect(drawn).toContain('5/10');
    expect(drawn).toContain('0:02 elapsed, ETA 0:02');
    expect(drawn).toContain('250 samples/s');
    expect(drawn).toContain('K = 100');
  });
});
