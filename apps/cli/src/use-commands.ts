import type { Command } from 'commander';
import { type CompressFlags, type DecompressFlags, compressCommand, decompressCommand } from './compress.js';
import { type EditFlags, editCommand } from './edit.js';
import { type InterpolateFlags, interpolateCommand } from './interpolate.js';
import type { Io } from './io.js';
import { type LatentFlags, latentCommand } from './latent.js';
import { type ReconstructFlags, reconstructCommand } from './reconstruct.js';
import { type ReportFlags, reportCommand } from './report.js';
import { type SampleFlags, sampleCommand } from './sample.js';
import { type TraverseFlags, traverseCommand } from './traverse.js';

/*
 * The commands that use a trained run: sample, reconstruct, interpolate, traverse, edit, compress,
 * decompress, latent, report. Each loads the run's newest checkpoint (trained.ts), writes its
 * pictures into the run's images/ with a caption, and rejects bad flags with exit 2.
 */
export function registerUseCommands(program: Command, io: Io, done: (code: number) => void): void {
  const quiet = '-q, --quiet';
  const quietHelp = 'print only results and errors';
  const withQuiet = <T extends { quiet?: boolean }>(flags: T): T => {
    if (flags.quiet) io.quiet = true;
    return flags;
  };
  program
    .command('sample')
    .description('decode samples from the prior into a grid: images/samples.png')
    .argument('<run>', 'run folder')
    .option('-n, --n <N>', 'number of samples (default 64)')
    .option('-t, --temperature <T>', 'scale of the prior spread, >= 0 (default 1)')
    .option('--label <Y>', 'condition on this label (conditional models only)')
    .option('--seed <S>', "seed of the samples (default: the run's seed)")
    .option('--draw', 'draw x ~ p(x|z) instead of its mean')
    .option('--columns <C>', 'images per row (default 8)')
    .option(quiet, quietHelp)
    .action(async (run: string, flags: SampleFlags & { quiet?: boolean }) => done(await sampleCommand(run, withQuiet(flags), io)));
  program
    .command('reconstruct')
    .description('inputs above their reconstructions: images/reconstructions-<split>.png')
    .argument('<run>', 'run folder')
    .option('--split <split>', 'test or train (default test)')
    .option('--indices <list>', 'comma-separated example indices (default the first 16)')
    .option('--columns <C>', 'images per row (default 8)')
    .option(quiet, quietHelp)
    .action(async (run: string, flags: ReconstructFlags & { quiet?: boolean }) => done(await reconstructCommand(run, withQuiet(flags), io)));
  program
    .command('interpolate')
    .description("decode the path between two examples' posterior means: images/interpolation-<from>-<to>-<mode>.png")
    .argument('<run>', 'run folder')
    .option('--from <I|file.png>', 'first endpoint: an index in the split or a PNG file')
    .option('--to <J|file.png>', 'second endpoint')
    .option('--steps <N>', 'points on the path, endpoints included (default 10)')
    .option('--mode <mode>', 'linear or slerp (default linear)')
    .option('--split <split>', 'test or train (default test)')
    .option(quiet, quietHelp)
    .action(async (run: string, flags: InterpolateFlags & { quiet?: boolean }) => done(await interpolateCommand(run, withQuiet(flags), io)));
  program
    .command('traverse')
    .description('vary each latent dimension alone, one row per dimension, ordered by KL: images/traversal.png')
    .argument('<run>', 'run folder')
    .option('--dims <list>', 'comma-separated dimensions (default the 10 with the largest KL)')
    .option('--range <low,high>', 'values each dimension takes (default -3,3)')
    .option('--steps <N>', 'values per dimension (default 9)')
    .option('--index <I>', "traverse around this example's code (default the prior mean)")
    .option('--split <split>', 'test or train (default test)')
    .option(quiet, quietHelp)
    .action(async (run: string, flags: TraverseFlags & { quiet?: boolean }) => done(await traverseCommand(run, withQuiet(flags), io)));
  program
    .command('edit')
    .description('move examples along an attribute vector (mean code with minus mean code without): images/edit-<attribute>-<split><index>.png')
    .argument('<run>', 'run folder')
    .option('--attribute <name>', 'a class (e.g. 8) or a change of class (e.g. 3-to-8)')
    .option('--amount <A>', 'largest amount; the sweep runs from 0 to A (default 2)')
    .option('--index <I>', 'example index (or comma-separated indices) in the split')
    .option('--steps <N>', 'amounts in the sweep (default 7)')
    .option('--split <split>', 'test or train (default test)')
    .option('--examples <N>', 'training examples the vector is computed from (default 5000)')
    .option(quiet, quietHelp)
    .action(async (run: string, flags: EditFlags & { quiet?: boolean }) => done(await editCommand(run, withQuiet(flags), io)));
  program
    .command('compress')
    .description("compress images into a file: quantized codes entropy-coded (rANS) under the prior; prints bits per image")
    .argument('<run>', 'run folder')
    .option('-o, --out <file>', 'the compressed file to write')
    .option('--split <split>', 'test or train (default test)')
    .option('--limit <N>', 'the first N images of the split (default 100)')
    .option('--indices <list>', 'comma-separated image indices instead')
    .option('--bin-width <d>', "quantization bin width in prior standard deviations (default 0.25)")
    .option(quiet, quietHelp)
    .action(async (run: string, flags: CompressFlags & { quiet?: boolean }) => done(await compressCommand(run, withQuiet(flags), io)));
  program
    .command('decompress')
    .description('decode a file written by vaelab compress (with the same run) into a PNG')
    .argument('<run>', 'run folder')
    .argument('<file>', 'compressed file')
    .option('-o, --out <file.png>', 'the PNG to write')
    .option('--columns <C>', 'images per row (default 10)')
    .option(quiet, quietHelp)
    .action(async (run: string, file: string, flags: DecompressFlags & { quiet?: boolean }) => done(await decompressCommand(run, file, withQuiet(flags), io)));
  program
    .command('latent')
    .description('scatter of posterior means coloured by label (PCA or UMAP above 2-D); for a 2-D latent also the manifold grid over [-3,3]^2')
    .argument('<run>', 'run folder')
    .option('--split <split>', 'test or train (default test)')
    .option('--limit <N>', 'examples plotted (default 5000; 2000 with UMAP)')
    .option('--projection <p>', 'pca or umap, when the latent has more than 2 dimensions (default pca)')
    .option('--grid <N>', 'side of the manifold grid for a 2-D latent (default 20)')
    .option('--seed <S>', "UMAP's seed (default: the run's seed)")
    .option(quiet, quietHelp)
    .action(async (run: string, flags: LatentFlags & { quiet?: boolean }) => done(await latentCommand(run, withQuiet(flags), io)));
  program
    .command('report')
    .description('one self-contained HTML file for a run (config, curves, evaluation, images) or a sweep (results table, charts)')
    .argument('<dir>', 'run or sweep folder')
    .option('-o, --out <file.html>', 'where to write (default <dir>/report.html)')
    .option('--metrics <list>', `sweep columns (default ${['loss', 'reconstruction', 'kl', 'eval.log_likelihood'].join(',')})`)
    .action(async (dir: string, flags: ReportFlags) => done(await reportCommand(dir, flags, io)));
}
