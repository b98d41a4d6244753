// Tests run on the backend VAE Lab uses here: wasm (tests that need another select it themselves).
import { selectBackend } from '@vaelab/core';

// One wasm thread per test process unless the environment asks for more (VAELAB_WASM_THREADS=2
// runs the suite on the threaded build): the suite runs two test files at once on two cores, and
// results do not depend on the thread count (packages/core/src/wasm-threads.test.ts). Processes
// that tests spawn inherit it.
process.env.VAELAB_WASM_THREADS ??= '1';
await selectBackend('wasm');
