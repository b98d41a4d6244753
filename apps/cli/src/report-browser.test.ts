import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { Io } from './io.js';
import { main } from './main.js';

/*
 * The HTML report opened in Debian's headless Chromium (apt-get install chromium): it renders with
 * no console error, no failed request (everything is inline), and a screenshot.
 */

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const repo = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const io = (): Io => ({ cwd: repo, tty: false, out: () => {}, err: () => {} });

describe(`the HTML report in headless Chromium (${CHROMIUM})`, () => {
  it('opens without console errors or failed requests, shows every image, and screenshots', async () => {
    // .ci/run installs Debian's chromium; elsewhere: apt-get install chromium.
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`).toBe(true);
    const out = mkdtempSync(join(tmpdir(), 'vaelab-report-'));
    const args = ['experiment=synthetic_vae', 'data.n_train=64', 'data.n_test=32', 'trainer.epochs=2', 'trainer.batch_size=16', 'backend=wasm', 'latent_dim=2'];
    expect(await main(['train', ...args, '--out', out, '--quiet'], io())).toBe(0);
    const exp = readdirSync(out)[0]!;
    const run = join(out, exp, readdirSync(join(out, exp))[0]!);
    for (const cmd of [['eval', run, '-k', '4'], ['sample', run, '--n', '8'], ['latent', run, '--grid', '5']]) expect(await main([...cmd, '--quiet'], io())).toBe(0);
    expect(await main(['report', run], io())).toBe(0);

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
      await page.goto(pathToFileURL(join(run, 'report.html')).href, { waitUntil: 'load' });
      // every image decoded (naturalWidth > 0), one per PNG of the run
      const widths = await page.$$eval('img', (imgs) => imgs.map((i) => (i as unknown as { naturalWidth: number }).naturalWidth));
      expect(widths.length).toBe(readdirSync(join(run, 'images')).filter((f) => f.endsWith('.png')).length);
      expect(widths.every((w) => w > 0)).toBe(true);
      expect(await page.$$eval('svg', (s) => s.length)).toBeGreaterThan(0);
      const shot = join(out, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
