import { describe, expect, it } from 'vitest';
import { compileLiteral, compileOnig } from '../src/regex.js';

const all = (re: RegExp, s: string): string[] => [...s.matchAll(re)].map((m) => m[0]);

describe('Oniguruma patterns in JavaScript', () => {
  it('\\s, \\S are White_Space (U+0085 yes, U+FEFF no), unlike JavaScript', () => {
    const re = compileOnig('\\s+', 't');
    expect(all(re, 'a\u0085b\uFEFFc\u3000d')).toEqual(['\u0085', '\u3000']);
    expect(all(compileOnig('\\S+', 't'), 'a\u0085b\uFEFFc')).toEqual(['a', 'b\uFEFFc']);
    expect(all(compileOnig('[^\\s]+', 't'), 'x\u0085y')).toEqual(['x', 'y']);
  });

  it('\\d and \\w are Unicode', () => {
    expect(all(compileOnig('\\d+', 't'), 'a12\u0663\u0664b')).toEqual(['12\u0663\u0664']);
    expect(all(compileOnig('\\w+', 't'), 'caf\u00e9 na\u0301ive x_1')).toEqual(['caf\u00e9', 'na\u0301ive', 'x_1']);
  });

  it('(?i:...) groups match both cases of their letters only', () => {
    const re = compileOnig("(?i:'s|'ll)|[a-z]+", 't');
    expect(all(re, "IT'S he'LL LOUD")).toEqual(["'S", 'he', "'LL"]);
    expect(all(compileOnig('(?i:[a-c]x)', 't'), 'Bx bX dx')).toEqual(['Bx', 'bX']);
  });

  it('escapes JavaScript u-mode rejects are made literal; braces and brackets too', () => {
    expect(all(compileOnig("\\'\\-\\#\\ ", 't'), "'-# x")).toEqual(["'-# "]);
    expect(all(compileOnig('a{2}|{|}|]', 't'), 'aaa{}]')).toEqual(['aa', '{', '}', ']']);
    expect(all(compileOnig('[\\-a]+', 't'), 'x-a-y')).toEqual(['-a-']);
    expect(all(compileOnig('\\x{1F40D}|\\x41', 't'), 'A\u{1F40D}')).toEqual(['A', '\u{1F40D}']);
  });

  it('script properties work by name', () => {
    expect(all(compileOnig('\\p{Han}+', 't'), 'abc\u65e5\u672cxyz')).toEqual(['\u65e5\u672c']);
    expect(all(compileOnig('\\P{L}+', 't'), 'ab12cd')).toEqual(['12']);
  });

  it('literal patterns match themselves', () => {
    expect(all(compileLiteral('a.b*(c)'), 'a.b*(c)axbbc')).toEqual(['a.b*(c)']);
    expect(all(compileLiteral('-'), 'a-b-')).toEqual(['-', '-']);
  });
});
