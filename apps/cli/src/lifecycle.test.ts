import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_FILES, readEventFile, readMetrics } from '@vaelab/runs';
import { setCheckpointFaultHook } from '@vaelab/trainers';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from './main.js';
import { capture, repo, runDirs, TINY } from './test-helpers.js';

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `vaelab-life-${name}-`));

describe('bad places to write runs: refused up front with exit 2', () => {
  it('--out that is a regular file', async () => {
    const file = join(tmp('file'), 'not-a-folder');
    writeFileSync(file, 'x');
    const io = capture();
    const started = Date.now();
    expect(await main(['train', ...TINY, '--out', file], io)).toBe(2);
    expect(io.stderr.join('\n')).toContain(file);
    expect(io.stderr.join('\n')).toMatch(/not a folder|is a file/);
    expect(Date.now() - started).toBeLessThan(20_000); // refused before anything is built
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('--out under /proc (a pseudo-filesystem) and under /sys (unwritable)', async () => {
    for (const out of ['/proc/self/vaelab-runs', '/sys/vaelab-runs']) {
      const io = capture();
      expect(await main(['train', ...TINY, '--out', out], io)).toBe(2);
      expect(io.stderr.join('\n')).toMatch(/pseudo-filesystem|not writable/);
      expect(io.stderr.join('\n')).toContain(out.split('/')[1]!);
    }
  });
});

describe('values that cannot work name where they came from', () => {
  it('a batch larger than the training split: both numbers and the override, no run folder', async () => {
    const out = tmp('batch');
    const io = capture();
    expect(await main(['train', ...TINY, 'trainer.batch_size=1000000000', '--out', out], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(
      /trainer\.batch_size=1000000000 \(command line\): trainer\.batch_size is 1000000000 but the training split has 64 examples/,
    );
    expect(runDirs(out)).toEqual([]);
  });

  it('a value from the command line names the override; one from a file names the file and line', async () => {
    const io = capture();
    expect(await main(['train', ...TINY, 'trainer.batch_size=0', '--out', tmp('zero')], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/trainer\.batch_size=0 \(command line\)/);

    const project = tmp('project');
    mkdirSync(join(project, 'conf', 'experiment'), { recursive: true });
    writeFileSync(join(project, 'vaelab.config.yaml'), 'config_dir: conf\n');
    // The built-in synthetic experiment with one bad value, on line 16 of the project's file.
    const builtIn = readFileSync(join(repo, 'apps', 'cli', 'conf', 'experiment', 'synthetic_vae.yaml'), 'utf8');
    const bad = builtIn.replace('name: synthetic_vae', 'name: bad').replace('  epochs: 3', '  epochs: -3');
    writeFileSync(join(project, 'conf', 'experiment', 'bad.yaml'), bad);
    const line = bad.split('\n').findIndex((l) => l === '  epochs: -3') + 1;
    const fromFile = capture(project);
    const code = await main(['train', 'experiment=bad', 'backend=wasm', '--out', join(project, 'runs')], fromFile);
    expect(code).toBe(2);
    expect(fromFile.stderr.join('\n')).toContain(`bad.yaml:${line}`);
    expect(fromFile.stderr.join('\n')).toContain('trainer.epochs');
  });
});

describe('a damaged checkpoint', () => {
  const withoutTime = (dir: string) => readMetrics(dir).map(({ time: _time, ...r }) => r);

  it('resume names the damaged file, falls back to the previous complete checkpoint and reaches the same losses', async () => {
    const out = tmp('damaged');
    expect(await main(['train', ...TINY, 'trainer.checkpoint.every_steps=3', '--out', out, '--quiet'], capture())).toBe(0);
    const [dir] = runDirs(out);
    const expected = withoutTime(dir!);
    // Garbage of the right size in the newest checkpoint's weights.
    const weights = join(dir!, RUN_FILES.checkpoints, 'step-00000008', 'weights.bin');
    const size = readFileSync(weights).length;
    writeFileSync(weights, Buffer.alloc(size, 7));
    rmSync(join(dir!, RUN_FILES.summary));
    const io = capture();
    expect(await main(['resume', dir!, '--quiet'], io)).toBe(0);
    expect(io.stderr.join('\n')).toMatch(/step-00000008.*weights\.bin.*sha256.*falling back to step-00000006/s);
    expect(io.stdout.join('\n')).toMatch(/resuming at epoch 2, batch 2, step 6/);
    expect(withoutTime(dir!)).toEqual(expected);
  });

  it('with no complete checkpoint left: exit 2 naming the file and what is wrong', async () => {
    const out = tmp('damaged-all');
    expect(await main(['train', ...TINY, 'trainer.epochs=1', 'trainer.checkpoint.keep_last=1', '--out', out, '--quiet'], capture())).toBe(0);
    const [dir] = runDirs(out);
    const weights = join(dir!, RUN_FILES.checkpoints, 'step-00000004', 'weights.bin');
    writeFileSync(weights, readFileSync(weights).subarray(0, 100)); // truncated
    rmSync(join(dir!, RUN_FILES.summary));
    const io = capture();
    expect(await main(['resume', dir!], io)).toBe(2);
    expect(io.stderr.join('\n')).toMatch(/step-00000004\/weights\.bin.*(truncated|100 bytes)/);
  });
});

describe('disk faults while training', () => {
  const mounted: string[] = [];
  afterAll(() => {
    for (const m of mounted) spawnSync('umount', [m]);
    setCheckpointFaultHook(null);
  });

  it('a full disk: one message naming the path and the cause, exit 1, the previous checkpoint intact, no temp files', async () => {
    const out = tmp('full');
    // A real 160 KiB tmpfs where this runs as root; an injected ENOSPC elsewhere (same assertions).
    const real = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=160k', 'tmpfs', out]).status === 0;
    if (real) mounted.push(out);
    else {
      let saves = 0;
      setCheckpointFaultHook((op, path) => {
        if (op === 'write' && path.endsWith('weights.bin') && ++saves === 2) {
          throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC', path });
        }
      });
    }
    const io = capture();
    // A wide network: its checkpoint (weights and Adam slots, ~400 KB) cannot fit in 160 KiB.
    const code = await main(['train', ...TINY, 'encoder.hidden=[512]', 'decoder.hidden=[512]', '--out', out, '--quiet'], io);
    setCheckpointFaultHook(null);
    expect(code).toBe(1);
    const err = io.stderr.join('\n');
    expect(err).toMatch(/no space left on device/);
    expect(err).toMatch(/checkpoints/);
    const [dir] = runDirs(out);
    const left = readdirSync(join(dir!, RUN_FILES.checkpoints));
    expect(left.filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    if (existsSync(join(dir!, RUN_FILES.summary))) {
      expect(JSON.parse(readFileSync(join(dir!, RUN_FILES.summary), 'utf8')).status).toBe('failed');
    }
    if (real) {
      spawnSync('umount', [out]);
      mounted.pop();
    }
  });
});

describe('logs, validation, early stopping and progress', () => {
  it('TensorBoard events for every term and the learning rate; per-step records with time and lr', async () => {
    const out = tmp('tb');
    const args = [...TINY, 'trainer.log_every_steps=2', 'trainer.lr_schedule={name: cosine, warmup_steps: 2}', '--out', out, '--quiet'];
    expect(await main(['train', ...args], capture())).toBe(0);
    const [dir] = runDirs(out);
    const records = readMetrics(dir!);
    const steps = records.filter((r) => r.split === 'train_step');
    expect(steps.map((r) => r.step)).toEqual([2, 4, 6, 8]);
    // Warm-up (s + 1) / 2 reaches the base rate at step index 1, then the cosine decays to 0 over 8 steps.
    const base = 1e-3;
    const lrAt = (s: number) => (s < 2 ? (base * (s + 1)) / 2 : base * 0.5 * (1 + Math.cos((Math.PI * (s - 2)) / 6)));
    for (const r of steps) expect(r.lr as number).toBeCloseTo(lrAt(r.step - 1), 9);
    for (const r of records) expect(r.time).toBeGreaterThan(1.7e9);
    const tbDir = join(dir!, RUN_FILES.tensorboard);
    const files = readdirSync(tbDir).filter((f) => f.startsWith('events.out.tfevents.'));
    expect(files).toHaveLength(1);
    const events = readEventFile(join(tbDir, files[0]!)); // checks every record's CRCs
    expect(events[0]!.fileVersion).toBe('brain.Event:2');
    const tags = new Map<string, number[]>();
    for (const e of events) for (const v of e.values) tags.set(v.tag, [...(tags.get(v.tag) ?? []), v.simpleValue!]);
    for (const tag of ['train/loss', 'train/kl', 'train/reconstruction', 'test/loss', 'test/kl', 'train_step/loss', 'train_step/lr']) {
      expect(tags.has(tag), tag).toBe(true);
    }
    const testLosses = records.filter((r) => r.split === 'test').map((r) => r.loss);
    expect(tags.get('test/loss')!).toEqual(testLosses.map((x) => Math.fround(x)));
  });

  it('a validation split carved from training, validation records, early stopping keeping the best checkpoint', async () => {
    const out = tmp('val');
    const io = capture();
    const args = [
      ...TINY,
      'trainer.epochs=4',
      'data.validation=16',
      // No later epoch can improve validation loss by 1000 nats: training stops after patience 1.
      'trainer.early_stopping={metric: validation.loss, patience: 1, min_delta: 1000}',
      '--out',
      out,
    ];
    expect(await main(['train', ...args], io)).toBe(0);
    const [dir] = runDirs(out);
    const validation = JSON.parse(readFileSync(join(dir!, RUN_FILES.validation), 'utf8'));
    expect(validation).toMatchObject({ spec: 16, size: 16 });
    expect(validation.indices).toHaveLength(16);
    expect(io.stdout.join('\n')).toMatch(/data: synthetic \(48 train, 16 validation, 32 test/);
    const records = readMetrics(dir!);
    expect(records.filter((r) => r.split === 'validation').map((r) => r.epoch)).toEqual([1, 2]);
    const summary = JSON.parse(readFileSync(join(dir!, RUN_FILES.summary), 'utf8'));
    expect(summary.stopped_early).toBeDefined();
    expect(summary.epochs).toBe(2);
    expect(summary.stopped_early.best).toMatchObject({ metric: 'validation.loss', epoch: 1 });
    // The best checkpoint is the lowest validation loss (epoch 2), whatever early stopping's min_delta.
    const best = records.filter((r) => r.split === 'validation').sort((a, b) => a.loss - b.loss)[0]!;
    expect(summary.best).toMatchObject({ metric: 'validation.loss', epoch: best.epoch, value: best.loss });
    expect(summary.best_checkpoint).toBe(`step-0000000${best.epoch * 3}`);
    expect(existsSync(join(dir!, RUN_FILES.checkpoints, summary.best_checkpoint))).toBe(true);
    expect(io.stdout.join('\n')).toMatch(/stopped early/);
  });

  it('without a terminal: a plain progress line at the interval; --quiet: only epoch lines and the result', async () => {
    const io = capture();
    expect(await main(['train', ...TINY, '--out', tmp('lines'), '--log-interval', '0.001'], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/train step \d+\/8 \(\d+\.\d%\) epoch [\d.]+\/2 loss [\d.]+ lr [\d.e-]+ \| \d+ samples\/s \| elapsed \d+:\d\d, ETA \d+:\d\d/);
    const quiet = capture();
    expect(await main(['train', ...TINY, '--out', tmp('quiet'), '--quiet'], quiet)).toBe(0);
    expect(quiet.stdout).toHaveLength(3);
    expect(quiet.stdout[0]).toMatch(/^epoch 1\/2 {2}train loss/);
    expect(quiet.stdout[2]).toMatch(/^test loss [\d.]+ nats per example; run folder: /);
    expect((await main(['train', ...TINY, '--log-interval', 'soon'], capture())) as number).toBe(2);
  });
});

// Keep the mounted folders from outliving a failed test.
process.on('exit', () => {
  for (const d of readdirSync(tmpdir()).filter((d) => d.startsWith('vaelab-life-full-'))) spawnSync('umount', [join(tmpdir(), d)]);
});

describe('fused kernels (VAELAB_FUSED_KERNELS=1)', () => {
  const withoutTime = (dir: string) => readMetrics(dir).map(({ time: _time, ...r }) => r);
  const train = async (fused: boolean) => {
    const saved = process.env.VAELAB_FUSED_KERNELS;
    if (fused) process.env.VAELAB_FUSED_KERNELS = '1';
    else delete process.env.VAELAB_FUSED_KERNELS;
    try {
      const out = tmp(fused ? 'fused' : 'stock');
      const io = capture();
      expect(await main(['train', ...TINY, '--out', out], io)).toBe(0);
      return { dir: runDirs(out)[0]!, log: io.stdout.join('\n') + io.stderr.join('\n') };
    } finally {
      if (saved === undefined) delete process.env.VAELAB_FUSED_KERNELS;
      else process.env.VAELAB_FUSED_KERNELS = saved;
    }
  };

  it('are logged and recorded in meta.json, and change the losses only in their last digits', async () => {
    const fused = await train(true);
    const stock = await train(false);
    const meta = (dir: string) => JSON.parse(readFileSync(join(dir, RUN_FILES.meta), 'utf8')) as { backend: { package: string } };
    expect(meta(fused.dir).backend.package).toContain('fused kernels (VAELAB_FUSED_KERNELS=1)');
    expect(meta(stock.dir).backend.package).not.toContain('fused');
    expect(fused.log).toContain('fused kernels: on');
    const [a, b] = [withoutTime(fused.dir), withoutTime(stock.dir)];
    expect(a.length).toBe(b.length);
    const losses = (rs: ReturnType<typeof withoutTime>) => rs.map((r) => (r as { loss?: number }).loss).filter((v): v is number => typeof v === 'number');
    const [la, lb] = [losses(a), losses(b)];
    expect(la.length).toBeGreaterThan(0);
    la.forEach((v, i) => expect(Math.abs(v - lb[i]!)).toBeLessThan(1e-3 * Math.abs(lb[i]!)));
    // another computation: some recorded value (a loss or a per-dimension KL) differs in its last bits
    expect(JSON.stringify(a)).not.toBe(JSON.stringify(b));
  });

  it('resume warns when the backend set-up differs from the one the run started on', async () => {
    const { dir } = await train(true);
    const { backendChange } = await import('./execute.js');
    const started = JSON.parse(readFileSync(join(dir, RUN_FILES.meta), 'utf8')) as { backend: { name: string; package: string; threads: number; requested: string } };
    const same = { ...started.backend, requested: 'wasm' as const };
    expect(backendChange(dir, same as never)).toBeNull();
    const without = { ...same, package: same.package.replace(' + fused kernels (VAELAB_FUSED_KERNELS=1)', '') };
    expect(backendChange(dir, without as never)).toMatch(/started on wasm .*fused kernels.* resumes on wasm .*will not match an uninterrupted run bit for bit/);
    expect(backendChange(dir, { ...same, threads: same.threads + 1 } as never)).toMatch(/thread/);
    // VAE Lab's matMul (on or off) computes the same bits: no warning
    const ownMatMul = { ...same, package: same.package.includes('VAE Lab matMul') ? same.package.replace(' + VAE Lab matMul', '') : same.package.replace('@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-wasm + VAE Lab matMul') };
    expect(ownMatMul.package).not.toBe(same.package);
    expect(backendChange(dir, ownMatMul as never)).toBeNull();
  });
});
