// A pipeline whose name the SDK refuses when the module is loaded (the user's mistake is on line 6).
import { z } from 'zod';
import { component, pipeline } from '@sluice/sdk';

const hello = component({ name: 'hello', inputs: {}, outputs: { x: z.number() }, run: async () => ({ x: 1 }) });
export default pipeline({ name: 'Bad Name!' }, () => { hello({}); });
