/**
 * Translates the Oniguruma patterns found in tokenizer.json (Hugging Face compiles `Split` and
 * `Replace` patterns with Oniguruma) to JavaScript `u`-mode regular expressions.
 *
 * The differences that matter for real tokenizers: `\s`, `\d` and `\w` are Unicode-aware in
 * Oniguruma and ASCII in JavaScript; `(?i:...)` groups (Llama 3, Qwen 2) need the `i` flag for
 * part of a pattern, which JavaScript engines older than 2024 lack, so the letters in them are
 * expanded to `[xX]`; `u` mode rejects escapes of characters that need none (`\'`, `\-`, ...).
 * Possessive quantifiers and atomic groups have no JavaScript equivalent and are refused.
 */
import { TokenizerConfigError } from './errors.js';

const SPACE = '\\p{White_Space}';
const WORD = '\\p{L}\\p{M}\\p{Nd}\\p{Pc}';
/** Characters that keep their backslash in u mode, outside and inside a class. */
const SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));
const CLASS_SYNTAX = new Set('^$\\.*+?()[]{}|/-'.split(''));

interface State {
  src: string;
  i: number;
  out: string;
  /** Depth counter per open group: whether it was opened with (?i:. */
  groups: boolean[];
  caseless: number;
  where: string;
}

function fail(st: State, what: string): never {
  throw new TokenizerConfigError(`${st.where}: cannot use the regular expression ${JSON.stringify(st.src)}: ${what} (at index ${st.i})`);
}

/** Compiles an Oniguruma pattern for global matching. */
export function compileOnig(pattern: string, where: string): RegExp {
  const st: State = { src: pattern, i: 0, out: '', groups: [], caseless: 0, where };
  while (st.i < pattern.length) step(st);
  if (st.groups.length) fail(st, 'unbalanced parentheses');
  try {
    return new RegExp(st.out, 'gu');
  } catch (err) {
    return fail(st, `translated to ${JSON.stringify(st.out)}, which JavaScript rejects (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** A regex that matches `literal` exactly. */
export function compileLiteral(literal: string): RegExp {
  return new RegExp(literal.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'), 'gu');
}

function step(st: State): void {
  const c = st.src[st.i];
  if (c === '\\') return escape(st, false);
  if (c === '[') return charClass(st);
  if (c === '(') return openGroup(st);
  if (c === ')') {
    if (!st.groups.length) fail(st, 'unbalanced parentheses');
    if (st.groups.pop()) st.caseless--;
    st.out += ')';
    st.i++;
    return;
  }
  if (c === '{') return brace(st);
  if (c === '}' || c === ']') {
    // Literal in Oniguruma, a syntax error unescaped in u mode.
    st.out += `\\${c}`;
    st.i++;
    return;
  }
  if ((c === '+' || c === '*' || c === '?') && st.src[st.i + 1] === '+') fail(st, 'possessive quantifiers are not supported');
  if (st.caseless > 0 && /[a-zA-Z]/.test(c)) {
    st.out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
    st.i++;
    return;
  }
  st.out += c;
  st.i++;
}

/** A `{n,m}` quantifier is copied whole; any other brace is a literal. */
function brace(st: State): void {
  const q = /^\{\d+(,\d*)?\}/.exec(st.src.slice(st.i));
  if (!q) {
    st.out += '\\{';
    st.i++;
    return;
  }
  st.out += q[0];
  st.i += q[0].length;
  if (st.src[st.i] === '+') fail(st, 'possessive quantifiers are not supported');
}

function openGroup(st: State): void {
  const rest = st.src.slice(st.i);
  if (rest.startsWith('(?>')) fail(st, 'atomic groups are not supported');
  const flagged = /^\(\?([imx-]+)(:|\))/.exec(rest);
  if (flagged) {
    const flags = flagged[1];
    if (flags !== 'i') fail(st, `inline flags "${flags}" are not supported (only (?i:...) and (?i))`);
    if (flagged[2] === ')') {
      // (?i) applies to the end of the enclosing group: count it as an open caseless scope
      // closed by the next unmatched ')', which is what Oniguruma does.
      const top = st.groups.length - 1;
      if (top < 0 || !st.groups[top]) st.caseless++;
      if (top >= 0) st.groups[top] = true;
      st.i += flagged[0].length;
      return;
    }
    st.groups.push(true);
    st.caseless++;
    st.out += '(?:';
    st.i += flagged[0].length;
    return;
  }
  st.groups.push(false);
  st.out += '(';
  st.i++;
}

/** Translates one escape; `inClass` selects the forms valid inside [...]. */
function escape(st: State, inClass: boolean): void {
  const n = st.src[st.i + 1];
  if (n === undefined) fail(st, 'trailing backslash');
  st.i += 2;
  const neg = (set: string): string => (inClass ? fail(st, `\\${n} inside a character class is not supported`) : `[^${set}]`);
  switch (n) {
    case 's':
      st.out += SPACE;
      return;
    case 'S':
      st.out += '\\P{White_Space}';
      return;
    case 'd':
      st.out += '\\p{Nd}';
      return;
    case 'D':
      st.out += '\\P{Nd}';
      return;
    case 'w':
      st.out += inClass ? WORD : `[${WORD}]`;
      return;
    case 'W':
      st.out += neg(WORD);
      return;
    case 'h':
      st.out += inClass ? '0-9a-fA-F' : '[0-9a-fA-F]';
      return;
    case 'A':
      st.out += inClass ? fail(st, '\\A inside a class') : '^';
      return;
    case 'z':
      st.out += inClass ? fail(st, '\\z inside a class') : '$';
      return;
    case 'Z':
      st.out += inClass ? fail(st, '\\Z inside a class') : '(?=\\n?$)';
      return;
    case 'p':
    case 'P':
      st.out += property(st, n);
      return;
    case 'x':
      st.out += hexEscape(st);
      return;
    default:
      st.out += plainEscape(n, inClass);
  }
}

function plainEscape(n: string, inClass: boolean): string {
  // \n, \t, \b, \1 ... mean the same in both dialects.
  if (/[a-zA-Z0-9]/.test(n)) return `\\${n}`;
  if ((inClass ? CLASS_SYNTAX : SYNTAX).has(n)) return `\\${n}`;
  return n;
}

function property(st: State, p: string): string {
  const m = /^\{(\^?)([A-Za-z_ =]+)\}/.exec(st.src.slice(st.i));
  if (!m) return fail(st, `malformed \\${p}{...}`);
  st.i += m[0].length;
  const negated = (p === 'P') !== (m[1] === '^');
  const name = m[2].replace(/ /g, '_');
  const letter = negated ? 'P' : 'p';
  for (const candidate of [name, `Script=${name}`]) {
    try {
      new RegExp(`\\p{${candidate}}`, 'u');
      return `\\${letter}{${candidate}}`;
    } catch {
      // Not a general category or binary property: try it as a script name.
    }
  }
  return fail(st, `unknown Unicode property "${name}"`);
}

function hexEscape(st: State): string {
  const braced = /^\{([0-9a-fA-F]{1,6})\}/.exec(st.src.slice(st.i));
  if (braced) {
    st.i += braced[0].length;
    return `\\u{${braced[1]}}`;
  }
  const two = /^[0-9a-fA-F]{2}/.exec(st.src.slice(st.i));
  if (!two) return fail(st, 'malformed \\x escape');
  st.i += 2;
  return `\\x${two[0]}`;
}

function charClass(st: State): void {
  st.out += '[';
  st.i++;
  if (st.src[st.i] === '^') {
    st.out += '^';
    st.i++;
  }
  // A ']' right after '[' or '[^' is a literal in Oniguruma.
  if (st.src[st.i] === ']') {
    st.out += '\\]';
    st.i++;
  }
  while (st.i < st.src.length && st.src[st.i] !== ']') {
    const c = st.src[st.i];
    if (c === '\\') {
      escape(st, true);
    } else if (c === '[') {
      fail(st, 'nested character classes are not supported');
    } else {
      classChar(st, c);
    }
  }
  if (st.src[st.i] !== ']') fail(st, 'unterminated character class');
  st.out += ']';
  st.i++;
}

function classChar(st: State, c: string): void {
  st.i++;
  if (st.caseless > 0 && /[a-zA-Z]/.test(c)) {
    // A letter range such as a-z gains its other case; a single letter gains both.
    if (st.src[st.i] === '-' && /[a-zA-Z]/.test(st.src[st.i + 1] ?? '')) {
      const d = st.src[st.i + 1];
      st.i += 2;
      st.out += `${c.toLowerCase()}-${d.toLowerCase()}${c.toUpperCase()}-${d.toUpperCase()}`;
      return;
    }
    st.out += c.toLowerCase() + c.toUpperCase();
    return;
  }
  st.out += c === '/' ? '\\/' : c;
}
