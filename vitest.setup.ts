// Tests run on the backend VAE Lab uses here: wasm (tests that need another select it themselves).
import { selectBackend } from '@vaelab/core';

await selectBackend('wasm');
