// Turns console arguments into text the way Node's util.format / util.inspect do, for the
// JavaScript sandbox: nested objects and arrays, Map, Set, class instances, errors with their stack,
// circular references, and line breaking of long values.

export interface InspectOptions {
  /** How many levels of nesting are shown before [Object] / [Array]. */
  depth?: number;
  /** Width beyond which an object or array is broken over several lines. */
  breakLength?: number;
  /** Rewrites an error's stack before it is shown (e.g. to hide the runner's own frames). */
  stack?: (stack: string) => string;
}

const MAX_ARRAY_ITEMS = 100;
const MAX_STRING = 10_000;

interface Ctx {
  stack?: (stack: string) => string;
  depth: number;
  breakLength: number;
  seen: object[];
  refs: Map<object, number>;
}

export function inspect(value: unknown, options: InspectOptions = {}): string {
  const ctx: Ctx = { depth: options.depth ?? 2, breakLength: options.breakLength ?? 80, seen: [], refs: new Map(), stack: options.stack };
  return formatValue(ctx, value, 0);
}

/** util.format: printf-like placeholders in a leading string, then the rest space-separated. */
export function format(args: unknown[], options: InspectOptions = {}): string {
  const first = args[0];
  let i = 0;
  let out = '';
  if (typeof first === 'string') {
    i = 1;
    if (args.length > 1 && first.includes('%')) {
      out = first.replace(/%([sdifjoOc%])/g, (m, spec: string) => {
        if (spec === '%') return '%';
        if (i >= args.length) return m;
        const arg = args[i++];
        switch (spec) {
          case 's':
            return typeof arg === 'string' ? arg : typeof arg === 'object' && arg !== null ? inspect(arg, { ...options, depth: 1 }) : formatPrimitive(arg, false);
          case 'd':
            return typeof arg === 'bigint' ? `${arg}n` : typeof arg === 'symbol' ? 'NaN' : formatNumber(Number(arg));
          case 'i':
            return typeof arg === 'bigint' ? `${arg}n` : typeof arg === 'symbol' ? 'NaN' : formatNumber(parseInt(String(arg), 10));
          case 'f':
            return typeof arg === 'symbol' ? 'NaN' : formatNumber(parseFloat(String(arg)));
          case 'j':
            try {
              return JSON.stringify(arg) ?? 'undefined';
            } catch {
              return '[Circular]';
            }
          case 'o':
          case 'O':
            return inspect(arg, { ...options, depth: spec === 'o' ? 4 : 2 });
          case 'c':
            return '';
        }
        return m;
      });
    } else {
      out = first;
    }
  }
  for (; i < args.length; i++) {
    const arg = args[i];
    out += (out || i > 0 ? ' ' : '') + (typeof arg === 'string' ? arg : inspect(arg, options));
  }
  return out;
}

function formatNumber(n: number): string {
  return Object.is(n, -0) ? '-0' : String(n);
}

function quote(s: string): string {
  if (s.length > MAX_STRING) s = `${s.slice(0, MAX_STRING)}... ${s.length - MAX_STRING} more characters`;
  const q = !s.includes("'") ? "'" : !s.includes('"') ? '"' : !s.includes('`') && !s.includes('${') ? '`' : "'";
  // Backslashes and control characters (C0, DEL and C1, as Node escapes them).
  const escaped = s.replace(/[\\\p{Cc}]/gu, (c) => {
    switch (c) {
      case '\\':
        return '\\\\';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      case '\b':
        return '\\b';
      case '\f':
        return '\\f';
      case '\v':
        return '\\v';
      case '\0':
        return '\\0';
      default:
        return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
    }
  });
  return q + (q === "'" ? escaped.replace(/'/g, "\\'") : escaped) + q;
}

function formatPrimitive(v: unknown, nested: boolean): string {
  switch (typeof v) {
    case 'string':
      return nested ? quote(v) : v;
    case 'number':
      return formatNumber(v);
    case 'bigint':
      return `${v}n`;
    case 'symbol':
      return v.toString();
    case 'undefined':
      return 'undefined';
    case 'boolean':
      return String(v);
    case 'object':
      return 'null'; // the only object that reaches here
    case 'function':
      return '[Function]'; // functions are labelled before this is reached
  }
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

function formatKey(key: string | symbol): string {
  if (typeof key === 'symbol') return `[${key.toString()}]`;
  return IDENT.test(key) ? key : quote(key);
}

/** Any function a program may log: only its name, source text and constructor are read. */
type AnyFunction = (...args: never[]) => unknown;

function functionLabel(fn: AnyFunction): string {
  let src = '';
  try {
    src = Function.prototype.toString.call(fn);
  } catch {
    /* revoked proxy or similar */
  }
  const name = fn.name;
  if (src.startsWith('class')) {
    const parent = Object.getPrototypeOf(fn) as AnyFunction | null;
    const ext = parent && parent !== Function.prototype && parent.name ? ` extends ${parent.name}` : '';
    return `[class ${name || '(anonymous)'}${ext}]`;
  }
  const ctor = fn.constructor?.name;
  const kind = ctor === 'AsyncFunction' || ctor === 'GeneratorFunction' || ctor === 'AsyncGeneratorFunction' ? ctor : 'Function';
  return `[${kind}${name ? `: ${name}` : ' (anonymous)'}]`;
}

/** The constructor name shown before an object, or null for a plain object. */
function constructorName(obj: object): string | null {
  const proto = Object.getPrototypeOf(obj) as object | null;
  if (proto === null) return '[Object: null prototype]';
  if (proto === Object.prototype) return null;
  const ctor: unknown = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value;
  if (typeof ctor === 'function' && ctor.name) return ctor.name;
  return constructorName(proto) ?? 'Object';
}

function formatError(err: Error, ctx: Ctx, level: number): string {
  let stack = typeof err.stack === 'string' && err.stack ? err.stack : '';
  const head = err.message ? `${err.name}: ${err.message}` : String(err.name);
  // Some engines leave the name and message out of the stack.
  if (!stack.includes(head)) stack = stack ? `${head}\n${stack}` : head;
  if (ctx.stack) stack = ctx.stack(stack);
  const extra: string[] = [];
  for (const key of Reflect.ownKeys(err)) {
    if (key === 'stack' || key === 'message') continue;
    const desc = Object.getOwnPropertyDescriptor(err, key);
    if (!desc || (!desc.enumerable && key !== 'cause')) continue;
    const label = key === 'cause' ? '[cause]' : formatKey(key);
    extra.push(`${label}: ${formatValue(ctx, (err as unknown as Record<string | symbol, unknown>)[key], level + 1)}`);
  }
  const indent = '  '.repeat(level);
  let out = level > 0 ? stack.split('\n').join(`\n${indent}`) : stack;
  if (extra.length) out += ` {\n${indent}  ${extra.join(`,\n${indent}  `)}\n${indent}}`;
  return out;
}

function formatValue(ctx: Ctx, value: unknown, level: number): string {
  if (typeof value === 'function') return functionLabel(value as AnyFunction);
  if (typeof value !== 'object' || value === null) return formatPrimitive(value, level > 0);

  const obj = value;
  if (ctx.seen.includes(obj)) {
    let ref = ctx.refs.get(obj);
    if (ref === undefined) {
      ref = ctx.refs.size + 1;
      ctx.refs.set(obj, ref);
    }
    return `[Circular *${ref}]`;
  }

  if (obj instanceof Error) return formatError(obj, ctx, level);
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
  if (obj instanceof RegExp) return String(obj);
  if (obj instanceof Number) return `[Number: ${formatNumber(obj.valueOf())}]`;
  if (obj instanceof String) return `[String: ${quote(obj.valueOf())}]`;
  if (obj instanceof Boolean) return `[Boolean: ${obj.valueOf()}]`;
  if (obj instanceof Promise) return 'Promise { <pending> }';
  if (obj instanceof WeakMap) return 'WeakMap { <items unknown> }';
  if (obj instanceof WeakSet) return 'WeakSet { <items unknown> }';

  const name = constructorName(obj);
  let prefix: string;
  let open = '{';
  let close = '}';
  const entries: string[] = [];
  let isArrayLike = false;
  let keys: (string | symbol)[] = Reflect.ownKeys(obj).filter((k) => Object.getOwnPropertyDescriptor(obj, k)?.enumerable);

  const tooDeep = level > ctx.depth;
  if (Array.isArray(obj)) {
    if (tooDeep) return '[Array]';
    isArrayLike = true;
    prefix = name && name !== 'Array' ? `${name}(${obj.length}) ` : '';
    open = '[';
    close = ']';
  } else if (ArrayBuffer.isView(obj) && !(obj instanceof DataView)) {
    if (tooDeep) return `[${name}]`;
    isArrayLike = true;
    prefix = `${name}(${(obj as unknown as ArrayLike<unknown>).length}) `;
    open = '[';
    close = ']';
  } else if (obj instanceof Map) {
    if (tooDeep) return '[Map]';
    prefix = `${name ?? 'Map'}(${obj.size}) `;
  } else if (obj instanceof Set) {
    if (tooDeep) return '[Set]';
    prefix = `${name ?? 'Set'}(${obj.size}) `;
  } else if (obj instanceof ArrayBuffer) {
    const bytes = [...new Uint8Array(obj, 0, Math.min(obj.byteLength, 50))].map((b) => b.toString(16).padStart(2, '0'));
    const more = obj.byteLength > 50 ? ` ... ${obj.byteLength - 50} more bytes` : '';
    return `ArrayBuffer { [Uint8Contents]: <${bytes.join(' ')}${more}>, byteLength: ${obj.byteLength} }`;
  } else {
    if (tooDeep) return `[${name ?? 'Object'}]`;
    prefix = name ? `${name} ` : '';
  }

  ctx.seen.push(obj);
  try {
    if (isArrayLike) {
      const arr = obj as unknown as ArrayLike<unknown>;
      const shown = Math.min(arr.length, MAX_ARRAY_ITEMS);
      let holes = 0;
      const flushHoles = () => {
        if (holes) entries.push(`<${holes} empty item${holes > 1 ? 's' : ''}>`);
        holes = 0;
      };
      for (let i = 0; i < shown; i++) {
        if (!Object.prototype.hasOwnProperty.call(arr, i)) {
          holes++;
          continue;
        }
        flushHoles();
        entries.push(formatValue(ctx, arr[i], level + 1));
      }
      flushHoles();
      if (arr.length > shown) entries.push(`... ${arr.length - shown} more item${arr.length - shown > 1 ? 's' : ''}`);
      keys = keys.filter((k) => typeof k === 'symbol' || !/^(0|[1-9]\d*)$/.test(k));
    } else if (obj instanceof Map) {
      let n = 0;
      for (const [k, v] of obj) {
        if (n++ >= MAX_ARRAY_ITEMS) {
          entries.push(`... ${obj.size - MAX_ARRAY_ITEMS} more items`);
          break;
        }
        entries.push(`${formatValue(ctx, k, level + 1)} => ${formatValue(ctx, v, level + 1)}`);
      }
    } else if (obj instanceof Set) {
      let n = 0;
      for (const v of obj) {
        if (n++ >= MAX_ARRAY_ITEMS) {
          entries.push(`... ${obj.size - MAX_ARRAY_ITEMS} more items`);
          break;
        }
        entries.push(formatValue(ctx, v, level + 1));
      }
    }
    for (const key of keys) {
      const desc = Object.getOwnPropertyDescriptor(obj, key)!;
      let shown: string;
      if (desc.get || desc.set) shown = desc.get && desc.set ? '[Getter/Setter]' : desc.get ? '[Getter]' : '[Setter]';
      else shown = formatValue(ctx, desc.value, level + 1);
      entries.push(`${formatKey(key)}: ${shown}`);
    }
  } finally {
    ctx.seen.pop();
  }

  const ref = ctx.refs.get(obj);
  const refTag = ref !== undefined ? `<ref *${ref}> ` : '';
  const start = `${refTag}${prefix}`;
  if (entries.length === 0) return `${start}${open}${close}`;
  return start + join(entries, open, close, level, start.length, ctx.breakLength, isArrayLike);
}

/** One line when it fits, else one entry per line (short array items packed into columns). */
function join(entries: string[], open: string, close: string, level: number, startLength: number, breakLength: number, isArray: boolean): string {
  const indent = '  '.repeat(level);
  const multiline = entries.some((e) => e.includes('\n'));
  const total = entries.reduce((n, e) => n + e.length + 2, 0) + startLength + indent.length + 4;
  if (!multiline && total <= breakLength) return `${open} ${entries.join(', ')} ${close}`;
  if (isArray && !multiline && entries.length > 6) {
    const width = Math.max(...entries.map((e) => e.length)) + 2;
    if (width <= 16) {
      const perLine = Math.max(1, Math.min(16, Math.floor((breakLength - indent.length - 2) / width)));
      const numeric = entries.every((e) => /^-?[\d.]/.test(e));
      const lines: string[] = [];
      for (let i = 0; i < entries.length; i += perLine) {
        const row = entries.slice(i, i + perLine).map((e, j, arr) => {
          const cell = j === arr.length - 1 && i + perLine >= entries.length ? e : `${e},`;
          return numeric ? cell.padStart(width - 1) : cell.padEnd(width - 1);
        });
        lines.push(row.join(' ').trimEnd());
      }
      return `${open}\n${indent}  ${lines.join(`\n${indent}  `)}\n${indent}${close}`;
    }
  }
  return `${open}\n${indent}  ${entries.join(`,\n${indent}  `)}\n${indent}${close}`;
}
