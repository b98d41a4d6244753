import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunFolderError } from './errors.js';
import { collectResults, groupResults, meanStd, metricValue, resultsCsv, resultsMarkdown } from './results.js';
import { appendMetrics, writeJson } from './run-folder.js';
import {
  type SweepManifest,
  createJobDir,
  createSweepDir,
  jobName,
  readSweep,
  writeJobStatus,
  writeSweepManifest,
} from './sweep-folder.js';

const scratch = (name: string) => mkdtempSync(join(tmpdir(), `vaelab-results-${name}-`));

/** The files a started run has (config.yaml, meta.json), and a summary when it finished. */
function fakeRun(dir: string, opts: { overrides?: string[]; summary?: Record<string, unknown>; eval?: Record<string, unknown> } = {}) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.yaml'), 'seed: 1\n');
  writeFileSync(join(dir, 'overrides.yaml'), `${(opts.overrides ?? []).map((o) => `- ${o}`).join('\n') || '[]'}\n`);
  writeJson(join(dir, 'meta.json'), { experiment: 'exp', seed: 1 });
  if (opts.summary) writeJson(join(dir, 'summary.json'), opts.summary);
  if (opts.eval) writeJson(join(dir, 'eval.json'), opts.eval);
}

describe('jobName', () => {
  it('is the zero-padded index and the swept key=value pairs, with unsafe characters replaced', () => {
    expect(jobName(3, 8, { latent_dim: '8', seed: '2' })).toBe('003_latent_dim=8_seed=2');
    expect(jobName(12, 2000, [['objective.beta', '0.25']])).toBe('0012_objective.beta=0.25');
    expect(jobName(0, 1, {})).toBe('000');
    expect(jobName(1, 4, { 'encoder.hidden': '[400, 200]', data: 'a/b' })).toBe('001_encoder.hidden=-400,-200-_data=a-b');
    expect(jobName(1, 4, { k: 'x'.repeat(500) }).length).toBe(120);
  });
});

describe('sweep folder', () => {
  it('round-trips the manifest and job statuses; jobs not yet started have no run', () => {
    const out = scratch('sweep');
    const now = new Date('2026-12-01T10:00:00Z');
    const dir = createSweepDir(out, 'exp', now);
    expect(createSweepDir(out, 'exp', now)).toBe(`${dir}.1`);
    const jobs = [
      { index: 0, name: jobName(0, 2, { seed: '1' }), overrides: ['seed=1'], params: { seed: '1' } },
      { index: 1, name: jobName(1, 2, { seed: '2' }), overrides: ['seed=2'], params: { seed: '2' } },
    ];
    const manifest: SweepManifest = {
      version: 1,
      experiment: 'exp',
      command: ['train', '-m', 'experiment=exp', 'seed=1,2'],
      cwd: out,
      created_at: now.toISOString(),
      overrides: [],
      parameters: [{ key: 'seed', form: 'list', values: ['1', '2'] }],
      jobs,
    };
    writeSweepManifest(dir, manifest);
    const [a] = jobs.map((j) => createJobDir(dir, j));
    fakeRun(a!, { summary: { status: 'completed', test_loss: 3 } });
    writeJobStatus(a!, { index: 0, name: jobs[0]!.name, state: 'completed', attempts: 1, exit_code: 0 });
    const read = readSweep(dir);
    expect(read.manifest).toEqual(manifest);
    expect(read.jobs.map((j) => j.status.state)).toEqual(['completed', 'pending']);
    expect(read.jobs[0]!.run?.summary.test_loss).toBe(3);
    expect(read.jobs[1]!.run).toBeUndefined();
    expect(readdirSync(dir).sort()).toEqual(['000_seed=1', '001_seed=2', 'sweep.yaml']);
  });

  it('names the folder when it is not a sweep, run or folder of sweeps', () => {
    const empty = scratch('empty');
    expect(() => collectResults([empty], { metrics: ['test_loss'] })).toThrow(RunFolderError);
    expect(() => collectResults([empty], { metrics: ['test_loss'] })).toThrow(/neither a run folder/);
  });
});

describe('metricValue', () => {
  const run = {
    summary: { status: 'completed', test_loss: 10, test: { kl: 4, reconstruction: 6 }, units: 'nats' },
    eval: { log_likelihood: -9.5, active_units: 3 },
    metrics: [
      { step: 1, epoch: 1, split: 'test', loss: 11, kl: 5 },
      { step: 2, epoch: 2, split: 'test', loss: 10, kl: 4, rate_only: 7 },
      { step: 2, epoch: 2, split: 'validation', loss: 12, only_last: 1 },
    ],
  };
  it('reads summary.json, eval.json and the last metrics record, by prefix or by search', () => {
    expect(metricValue(run, 'test_loss')).toBe(10);
    expect(metricValue(run, 'test.kl')).toBe(4);
    expect(metricValue(run, 'summary.test.reconstruction')).toBe(6);
    expect(metricValue(run, 'eval.log_likelihood')).toBe(-9.5);
    expect(metricValue(run, 'active_units')).toBe(3);
    expect(metricValue(run, 'rate_only')).toBe(7); // last test record
    expect(metricValue(run, 'only_last')).toBe(1); // last record of any split
    expect(metricValue(run, 'last.loss')).toBe(12);
    expect(metricValue(run, 'units')).toBeNull(); // not a number
    expect(metricValue(run, 'missing')).toBeNull();
  });
});

describe('aggregation', () => {
  it('mean, sample standard deviation and n match hand-computed values', () => {
    expect(meanStd([])).toEqual({ mean: null, std: null, n: 0 });
    expect(meanStd([5])).toEqual({ mean: 5, std: null, n: 1 });
    // mean 2, squared deviations 1 + 0 + 1 = 2, / (3 − 1) = 1
    const s = meanStd([1, 2, 3]);
    expect(s.mean).toBe(2);
    expect(s.std).toBeCloseTo(1, 12);
    // mean 5, deviations −3, −1, −1, −1, 0, 0, 2, 4: squares sum to 32, / 7
    expect(meanStd([2, 4, 4, 4, 5, 5, 7, 9]).std).toBeCloseTo(Math.sqrt(32 / 7), 12);
  });

  it('groups a sweep over seeds, counts failed jobs and lists them with their errors', () => {
    const out = scratch('agg');
    const dir = createSweepDir(out, 'exp');
    const grid = [
      ['1', '1', 10.5],
      ['1', '2', 11.5],
      ['1', '3', 12.5],
      ['4', '1', 20],
      ['4', '2', 'failed'],
      ['4', '3', 26],
    ] as const;
    const jobs = grid.map(([beta, seed], index) => ({
      index,
      name: jobName(index, grid.length, { 'objective.beta': beta, seed }),
      overrides: [`objective.beta=${beta}`, `seed=${seed}`],
      params: { 'objective.beta': beta, seed },
    }));
    writeSweepManifest(dir, {
      version: 1,
      experiment: 'exp',
      command: [],
      cwd: out,
      created_at: new Date().toISOString(),
      overrides: [],
      parameters: [
        { key: 'objective.beta', form: 'list', values: ['1', '4'] },
        { key: 'seed', form: 'list', values: ['1', '2', '3'] },
      ],
      jobs,
    });
    grid.forEach(([, , loss], i) => {
      const jobDir = createJobDir(dir, jobs[i]!);
      if (loss === 'failed') {
        fakeRun(jobDir, { summary: { status: 'non-finite', error: 'the loss is NaN at step 3 (kl)' } });
        writeJobStatus(jobDir, { index: i, name: jobs[i]!.name, state: 'failed', attempts: 1, exit_code: 1, error: 'the loss is NaN at step 3 (kl)' });
      } else {
        fakeRun(jobDir, { summary: { status: 'completed', test_loss: loss, test: { kl: loss / 2 } } });
        appendMetrics(jobDir, { step: 1, epoch: 1, split: 'test', loss });
        writeJobStatus(jobDir, { index: i, name: jobs[i]!.name, state: 'completed', attempts: 1, exit_code: 0 });
      }
    });
    const table = collectResults([dir], { metrics: ['test_loss', 'test.kl'] });
    expect(table.params).toEqual(['objective.beta', 'seed']);
    expect(table.rows.map((r) => r.state)).toEqual(['completed', 'completed', 'completed', 'completed', 'failed', 'completed']);
    const groups = groupResults(table);
    expect(groups.map((g) => g.params)).toEqual([{ 'objective.beta': '1' }, { 'objective.beta': '4' }]);
    // β = 1: 10.5, 11.5, 12.5 → mean 11.5, std 1. β = 4: 20 and 26 (seed 2 failed) → mean 23, std √18.
    expect(groups[0]!.stats.test_loss).toEqual({ mean: 11.5, std: 1, n: 3 });
    expect(groups[1]!.stats.test_loss!.mean).toBe(23);
    expect(groups[1]!.stats.test_loss!.std).toBeCloseTo(Math.sqrt(18), 12);
    expect(groups[1]!.stats['test.kl']!.mean).toBe(11.5);
    expect(groups[1]).toMatchObject({ completed: 2, failed: 1, unfinished: 0 });

    const md = resultsMarkdown(table, groups);
    expect(md.split('\n').slice(0, 4)).toEqual([
      '| `objective.beta` | test_loss | test.kl | n | failed |',
      '| --- | ---: | ---: | ---: | ---: |',
      '| 1 | 11.50 ± 1.00 | 5.75 ± 0.50 | 3 | 0 |',
      '| 4 | 23.00 ± 4.24 | 11.50 ± 2.12 | 2 | **1** |',
    ]);
    expect(md).toContain('- 004_objective.beta=4_seed=2: failed — the loss is NaN at step 3 (kl)');
    const csv = resultsCsv(table, groups).trim().split('\n');
    expect(csv[0]).toBe('objective.beta,test_loss_mean,test_loss_std,test_loss_n,test.kl_mean,test.kl_std,test.kl_n,completed,failed,unfinished');
    expect(csv[1]).toBe('1,11.5,1,3,5.75,0.5,3,3,0,0');
    // Without grouping over seeds every job is its own group.
    expect(groupResults(table, { over: [] })).toHaveLength(6);
    // The folder of sweeps (<out>/<experiment>) reads the same.
    expect(collectResults([join(out, 'exp')], { metrics: ['test_loss'] }).rows).toHaveLength(6);
  });

  it('compares loose run folders on the overrides that differ between them', () => {
    const out = scratch('loose');
    fakeRun(join(out, 'a'), { overrides: ['trainer.epochs=2', 'latent_dim=2'], summary: { status: 'completed', test_loss: 1 } });
    fakeRun(join(out, 'b'), { overrides: ['trainer.epochs=2', 'latent_dim=8'], summary: { status: 'completed', test_loss: 3 } });
    fakeRun(join(out, 'c'), { overrides: ['trainer.epochs=2', 'latent_dim=8'] }); // still running
    const table = collectResults(['a', 'b', 'c'].map((d) => join(out, d)), { metrics: ['test_loss'] });
    expect(table.params).toEqual(['latent_dim']);
    const groups = groupResults(table);
    expect(groups.map((g) => [g.params.latent_dim, g.stats.test_loss!.mean, g.completed, g.unfinished])).toEqual([
      ['2', 1, 1, 0],
      ['8', 3, 1, 1],
    ]);
    expect(resultsMarkdown(table, groups)).toContain('| unfinished |');
  });
});
