// `node --import ./test/register.mjs`: lets the unit tests import the app's TypeScript sources
// directly (types stripped by Sucrase, the same transpiler the TypeScript sandbox uses).
import { register } from 'node:module';

register('./ts-loader.mjs', import.meta.url);
