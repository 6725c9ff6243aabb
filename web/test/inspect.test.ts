// The JavaScript sandbox's console: values print as Node prints them, so a candidate sees what
// they would see in a terminal.
import { describe, expect, test } from 'vitest';
import { format, inspect } from '../src/run/inspect';

describe('inspect', () => {
  test('nested objects, arrays, Map, Set and class instances, like Node', () => {
    expect(inspect({ a: 1, b: 'two', c: [1, 2, { d: null }] })).toBe("{ a: 1, b: 'two', c: [ 1, 2, { d: null } ] }");
    expect(inspect({ x: { y: { z: { w: 1 } } } })).toBe('{ x: { y: { z: [Object] } } }');
    expect(inspect(new Map([['k', [1]]]))).toBe("Map(1) { 'k' => [ 1 ] }");
    expect(inspect(new Set(['a', 2]))).toBe("Set(2) { 'a', 2 }");
    class Point {
      x = 1;
    }
    expect(inspect(new Point())).toBe('Point { x: 1 }');
    expect(inspect(Object.create(null))).toBe('[Object: null prototype] {}');
    // eslint-disable-next-line no-sparse-arrays -- a hole is what this line is about
    expect(inspect([undefined, , 3])).toBe('[ undefined, <1 empty item>, 3 ]');
    expect(inspect({ 'needs-quotes': 1, [Symbol('s')]: 2 })).toBe("{ 'needs-quotes': 1, [Symbol(s)]: 2 }");
    expect(inspect(-0)).toBe('-0');
    expect(inspect(10n)).toBe('10n');
    expect(inspect(function named() {})).toBe('[Function: named]');
    expect(inspect(class Foo {})).toBe('[class Foo]');
    expect(inspect(new Uint8Array([1, 2]))).toBe('Uint8Array(2) [ 1, 2 ]');
    expect(inspect(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
  });

  test('strings: bare at the top, quoted inside, control characters escaped', () => {
    expect(inspect("it's")).toBe("it's");
    expect(inspect(["it's"])).toBe('[ "it\'s" ]');
    expect(inspect(['a\tb\n', 'back\\slash'])).toBe("[ 'a\\tb\\n', 'back\\\\slash' ]");
    expect(inspect(['\u0001\u007f\u0085'])).toBe("[ '\\x01\\x7f\\x85' ]");
    expect(inspect({ s: 'x'.repeat(10_005) })).toContain('... 5 more characters');
  });

  test('circular references and long values', () => {
    const o: Record<string, unknown> = { name: 'loop' };
    o.self = o;
    expect(inspect(o)).toBe("<ref *1> { name: 'loop', self: [Circular *1] }");
    const long = inspect({ alpha: 'a'.repeat(30), beta: 'b'.repeat(30), gamma: 'c'.repeat(30) });
    expect(long).toBe(`{\n  alpha: '${'a'.repeat(30)}',\n  beta: '${'b'.repeat(30)}',\n  gamma: '${'c'.repeat(30)}'\n}`);
    expect(inspect(Array.from({ length: 150 }, (_, i) => i))).toMatch(/\.\.\. 50 more items\n\]$/);
  });

  test('errors show their stack, rewritten when asked, with their own fields', () => {
    const err = new TypeError('bad thing');
    err.stack = 'TypeError: bad thing\n    at f (main.js:3:9)\n    at runner (sandbox.js:1:1)';
    expect(inspect(err)).toBe(err.stack);
    const cleaned = inspect(err, { stack: (s) => s.split('\n').filter((l) => !l.includes('sandbox')).join('\n') });
    expect(cleaned).toBe('TypeError: bad thing\n    at f (main.js:3:9)');
    const withCode = Object.assign(new Error('x'), { code: 'E_X' });
    withCode.stack = 'Error: x\n    at main.js:1:1';
    expect(inspect(withCode)).toBe("Error: x\n    at main.js:1:1 {\n  code: 'E_X'\n}");
  });
});

describe('format', () => {
  test('printf-style placeholders, then the rest', () => {
    expect(format(['%s has %d items', 'list', 3])).toBe('list has 3 items');
    expect(format(['%i%%', 42.9])).toBe('42%');
    expect(format(['%j', { a: 1 }])).toBe('{"a":1}');
    expect(format(['%o', [1]])).toBe('[ 1 ]');
    expect(format(['%c styled', 'color: red'])).toBe(' styled');
    expect(format(['a', 1, { b: 2 }])).toBe('a 1 { b: 2 }');
    expect(format([{ b: 2 }, 'a'])).toBe('{ b: 2 } a');
    expect(format(['100%'])).toBe('100%');
    expect(format([])).toBe('');
  });
});
