import { readFile } from 'node:fs/promises';
import { transform } from 'sucrase';

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    // Sources import each other without extensions, as the bundler allows.
    if ((specifier.startsWith('./') || specifier.startsWith('../')) && !/\.[cm]?[jt]sx?$/.test(specifier)) {
      return next(`${specifier}.ts`, context);
    }
    throw err;
  }
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const source = await readFile(new URL(url), 'utf8');
  const { code } = transform(source, { transforms: ['typescript'], disableESTransforms: true, filePath: url });
  return { format: 'module', source: code, shortCircuit: true };
}
