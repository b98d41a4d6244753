#!/usr/bin/env node
// Committed launcher, so that npm links the `vaelab` bin on a fresh install even before the
// build (the root `prepare` script) has produced dist/.
import { main } from '../dist/index.js';

process.exitCode = await main(process.argv.slice(2));
