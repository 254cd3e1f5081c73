/** `node dist/build-client.js` (the package's build): bundles the page into dist/client/, so an installed package serves it without esbuild. */
import { buildClient } from './assets.ts';

await buildClient();
