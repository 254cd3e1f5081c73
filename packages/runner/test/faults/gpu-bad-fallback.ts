// A GPU request with a local fallback that does not exist: refused with its path.
import { badFallback } from './gpu-fallback.ts';

export default badFallback();
