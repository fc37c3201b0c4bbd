// The package entry point: loads only the function named by FUNCTION_TARGET, so each deployed
// function pays the cold-start cost of its own dependencies and no one else's.
import { processFunctionTarget } from '../shared/config/config.js';
import { isFunctionName } from './names.js';

const target = processFunctionTarget();
// Without a target this is an import of the package, not a function's start: there is nothing to load. (The
// Functions Framework then reports its default target missing; Cloud Run always sets FUNCTION_TARGET.)
if (target !== undefined) {
  if (!isFunctionName(target)) {
    throw new TypeError(`FUNCTION_TARGET must name one of the broker's functions, got ${JSON.stringify(target)}`);
  }
  await import(`./${target}.js`);
}
