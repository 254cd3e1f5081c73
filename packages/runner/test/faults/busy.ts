// A pipeline whose module never finishes loading (a loop at its top level, a user's bug) when
// SLUICE_TEST_BUSY is set: Ctrl-C must still end `sluice run`.
import { fn, pipeline, task } from '../helpers.ts';

const a = fn('a', { outputs: { x: 'number' } }, async () => ({ x: 1 }));
if (process.env.SLUICE_TEST_BUSY === '1') for (;;) { /* never returns */ }
export default pipeline('busy', [a], [task('a', a, {})]);
