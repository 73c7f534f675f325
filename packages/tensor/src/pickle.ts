import { CheckpointError, UnsafePickleError } from './errors.js';

/*
 * A restricted pickle reader: a small stack machine that builds plain values and never calls
 * anything. A GLOBAL is resolved against the caller's allow-list at the moment it is read (an
 * unknown name stops the run there), and REDUCE/BUILD only apply the allow-listed handlers,
 * which build descriptors (they do not run Python). Opcodes that create arbitrary objects
 * (INST, OBJ, NEWOBJ, EXT*) are refused. Every value is built from bytes already consumed, so
 * the memory used is bounded by a small multiple of the input's length.
 *
 * Covers what torch.save writes (protocol 2) plus the protocol 3-5 framing and string opcodes.
 */

/** A Python tuple (JS arrays stand for lists). */
export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** A Python dict or OrderedDict with str/int keys (insertion order kept). */
export class PickleDict {
  readonly map = new Map<string | number, PickleValue>();
}

/** An allow-listed global, as read by GLOBAL (its handler runs only through REDUCE). */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Anything a handler returns (tensor and storage descriptors). */
export class PickleObject {
  constructor(
    readonly kind: string,
    readonly value: unknown,
  ) {}
}

export type PickleValue = null | boolean | number | bigint | string | Uint8Array | PickleValue[] | PickleTuple | PickleDict | PickleGlobal | PickleObject;

export interface PickleGlobals {
  /** What REDUCE(global, args) builds. A global with no handler may still appear as a value (e.g. a storage type). */
  [qualified: string]: ((args: readonly PickleValue[]) => PickleValue) | null;
}

export interface PickleOptions {
  globals: PickleGlobals;
  /** BINPERSID: maps a persistent id to a value (the storage table of a torch checkpoint). */
  persistentLoad?: (pid: PickleValue) => PickleValue;
  label?: string;
}

const MARK = Symbol('mark');
type Slot = PickleValue | typeof MARK;

const OPCODE_NAMES: Record<number, string> = {
  0x69: 'INST',
  0x6f: 'OBJ',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x50: 'PERSID',
  0x63: 'GLOBAL',
  0x93: 'STACK_GLOBAL',
};

/** Runs the restricted machine over `bytes` and returns the value at STOP. */
export function loadPickle(bytes: Uint8Array, opts: PickleOptions): PickleValue {
  const label = opts.label ?? 'pickle';
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: Slot[] = [];
  const memo = new Map<number, PickleValue>();
  let p = 0;
  const fail = (msg: string): never => {
    throw new CheckpointError(`${label}: ${msg} (byte ${p})`);
  };
  const need = (n: number): number => {
    if (n < 0 || p + n > bytes.length) fail(`truncated: needs ${n} more bytes`);
    const at = p;
    p += n;
    return at;
  };
  const u8 = (): number => bytes[need(1)];
  const u16 = (): number => dv.getUint16(need(2), true);
  const u32 = (): number => dv.getUint32(need(4), true);
  const u64 = (): number => {
    const v = dv.getBigUint64(need(8), true);
    if (v > BigInt(bytes.length)) fail(`length ${v} runs past the end`);
    return Number(v);
  };
  const text = (n: number): string => {
    const at = need(n);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(at, at + n));
    } catch {
      return fail('invalid UTF-8 in a string');
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, p);
    if (end < 0 || end - p > 256) fail('GLOBAL name unterminated or longer than 256 bytes');
    const s = text(end - p);
    p += 1;
    return s;
  };
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined) fail('stack underflow');
    if (v === MARK) fail('unexpected MARK on the stack');
    return v as PickleValue;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) fail('stack underflow');
    return v as PickleValue;
  };
  const popMark = (): PickleValue[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) fail('no MARK on the stack');
    const items = stack.splice(i) as Slot[];
    return items.slice(1) as PickleValue[];
  };
  const resolveGlobal = (module: string, name: string): PickleGlobal => {
    const q = `${module}.${name}`;
    if (!Object.prototype.hasOwnProperty.call(opts.globals, q)) {
      throw new UnsafePickleError(`${label}: refuses global "${q}" (byte ${p}); only ${Object.keys(opts.globals).join(', ')} may appear. The file may be malicious or not a plain state_dict`);
    }
    return new PickleGlobal(module, name);
  };
  const setItems = (target: PickleValue, items: PickleValue[]): void => {
    if (!(target instanceof PickleDict)) fail('SETITEM(S) on something other than a dict');
    if (items.length % 2) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i];
      if (typeof k !== 'string' && typeof k !== 'number') fail(`dict key of type ${describe(k)} is not supported`);
      (target as PickleDict).map.set(k as string | number, items[i + 1]);
    }
  };
  const getMemo = (i: number): PickleValue => {
    if (!memo.has(i)) fail(`memo entry ${i} was never stored`);
    return memo.get(i) as PickleValue;
  };

  for (;;) {
    if (p >= bytes.length) fail('truncated: no STOP opcode');
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol above 5');
        break;
      case 0x95: // FRAME (a length hint only)
        u64();
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x30: // POP
        if (stack.pop() === undefined) fail('stack underflow');
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(dv.getInt32(need(4), true));
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement
        const n = u8();
        const at = need(n);
        stack.push(readLong(bytes.subarray(at, at + n)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        stack.push(dv.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x43: {
        // SHORT_BINBYTES
        const n = u8();
        const at = need(n);
        stack.push(bytes.slice(at, at + n));
        break;
      }
      case 0x42: {
        // BINBYTES
        const n = u32();
        const at = need(n);
        stack.push(bytes.slice(at, at + n));
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new PickleDict());
        break;
      case 0x64: {
        // DICT
        const d = new PickleDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PickleTuple([]));
        break;
      case 0x74: // TUPLE
        stack.push(new PickleTuple(popMark()));
        break;
      case 0x85:
      case 0x86:
      case 0x87: {
        // TUPLE1..3
        const n = op - 0x84;
        const items: PickleValue[] = [];
        for (let i = 0; i < n; i++) items.unshift(pop());
        stack.push(new PickleTuple(items));
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) fail('APPEND to something other than a list');
        (list as PickleValue[]).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail('APPENDS to something other than a list');
        for (const v of items) (list as PickleValue[]).push(v);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(getMemo(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(getMemo(u32()));
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PickleGlobal)) throw new UnsafePickleError(`${label}: REDUCE on a ${describe(fn)}, not an allow-listed global (byte ${p})`);
        const handler = opts.globals[fn.qualified];
        if (!handler) throw new UnsafePickleError(`${label}: "${fn.qualified}" may appear but not be called (byte ${p})`);
        if (!(args instanceof PickleTuple)) fail(`REDUCE arguments must be a tuple, got ${describe(args)}`);
        stack.push(handler((args as PickleTuple).items));
        break;
      }
      case 0x62: {
        // BUILD: sets instance state. Only a dict's attributes (OrderedDict._metadata) are accepted, and dropped.
        const state = pop();
        const target = top();
        if (!(target instanceof PickleDict)) throw new UnsafePickleError(`${label}: BUILD on a ${describe(target)} is not supported (byte ${p})`);
        if (state !== null && !(state instanceof PickleDict) && !(state instanceof PickleTuple)) fail(`BUILD state of type ${describe(state)}`);
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail('BINPERSID without a persistent-id table');
        stack.push(opts.persistentLoad!(pid));
        break;
      }
      default: {
        const name = OPCODE_NAMES[op];
        if (name) throw new UnsafePickleError(`${label}: opcode ${name} is not allowed (byte ${p - 1})`);
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
    }
  }
}

function readLong(b: Uint8Array): number | bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b.length > 0 && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PickleTuple) return 'tuple';
  if (v instanceof PickleDict) return 'dict';
  if (v instanceof PickleGlobal) return `global ${v.qualified}`;
  if (v instanceof PickleObject) return v.kind;
  if (v instanceof Uint8Array) return 'bytes';
  return typeof v;
}
