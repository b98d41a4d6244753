import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';

describe('ConfigError', () => {
  it('puts file, line, column and config path in front of the reason', () => {
    const err = new ConfigError('expected a positive integer', {
      file: 'experiments/conf/prior/vamp.yaml',
      line: 3,
      column: 5,
      configPath: 'prior.components',
    });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('ConfigError');
    expect(err.message).toBe('experiments/conf/prior/vamp.yaml:3:5: prior.components: expected a positive integer');
    expect(err.reason).toBe('expected a positive integer');
    expect([err.file, err.line, err.column, err.configPath]).toEqual(['experiments/conf/prior/vamp.yaml', 3, 5, 'prior.components']);
  });

  it('leaves out what is unknown', () => {
    expect(new ConfigError('bad', { configPath: 'a.b' }).message).toBe('a.b: bad');
    expect(new ConfigError('bad', { file: 'x.yaml' }).message).toBe('x.yaml: bad');
    expect(new ConfigError('bad').message).toBe('bad');
    expect(new ConfigError('bad').file).toBeUndefined();
  });

  it('shows absolute paths under the working directory relative to it', () => {
    const file = path.join(process.cwd(), 'conf', 'a.yaml');
    const err = new ConfigError('bad', { file, line: 2 });
    expect(err.message).toBe(`${path.join('conf', 'a.yaml')}:2: bad`);
    expect(err.file).toBe(file);
  });

  it('names a command-line override instead of a file, with the config path only when it differs', () => {
    const same = new ConfigError('expected a number >= 1, got 0', { override: 'trainer.batch_size=0', configPath: 'trainer.batch_size' });
    expect(same.message).toBe('trainer.batch_size=0 (command line): expected a number >= 1, got 0');
    expect([same.override, same.configPath]).toEqual(['trainer.batch_size=0', 'trainer.batch_size']);
    const deeper = new ConfigError('expected a number', { override: '+trainer.opt={lr: x}', configPath: 'trainer.opt.lr' });
    expect(deeper.message).toBe('+trainer.opt={lr: x} (command line): trainer.opt.lr: expected a number');
  });
});
