import { describe, expect, it } from 'vitest';
import { booleanValue, ConfigError, describeValue, positiveInt, positiveNumber } from '../src/index.js';

/** What JSON.parse gives for keys named like Object's methods: String() and template literals throw on these. */
const methodKeyed = JSON.parse('[{"toString": null}, {"valueOf": 1, "toString": "x"}, [{"toString": null}]]') as unknown[];

describe('describeValue', () => {
  it('shows strings quoted, other primitives as they print, and objects as JSON', () => {
    expect(describeValue('12')).toBe('"12"');
    expect(describeValue(12)).toBe('12');
    expect(describeValue(Number.NaN)).toBe('NaN');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(true)).toBe('true');
    expect(describeValue(10n)).toBe('10');
    expect(describeValue([1, { a: 'b' }])).toBe('[1,{"a":"b"}]');
  });

  it('never throws: objects keyed like methods, cycles, BigInts inside, functions', () => {
    expect(() => String(methodKeyed[0])).toThrow(TypeError);
    expect(methodKeyed.map(describeValue)).toEqual(['{"toString":null}', '{"valueOf":1,"toString":"x"}', '[{"toString":null}]']);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(describeValue(cycle)).toBe('an object');
    expect(describeValue([1n])).toBe('an array');
    expect(describeValue(() => 1)).toBe('a function');
  });

  it('cuts long values at 80 characters', () => {
    const shown = describeValue('x'.repeat(1000));
    expect(shown).toHaveLength(80);
    expect(shown.endsWith('...')).toBe(true);
    expect(describeValue(Array.from({ length: 100 }, (_, i) => i))).toHaveLength(80);
  });
});

describe('the shared checks', () => {
  it('refuse each wrong value with a ConfigError naming the place, the name and the value', () => {
    for (const v of methodKeyed) {
      expect(() => positiveInt('config.json', 'n_layer', v)).toThrow(ConfigError);
      expect(() => positiveNumber('config.json', 'norm_epsilon', v)).toThrow(ConfigError);
      expect(() => booleanValue('config.json', 'rms_norm', v)).toThrow(ConfigError);
    }
    expect(() => positiveInt('config.json', 'n_layer', '2')).toThrow('config.json: n_layer must be a positive integer, got "2"');
    expect(() => positiveNumber('config.json', 'norm_epsilon', -1)).toThrow('config.json: norm_epsilon must be a positive number, got -1');
    expect(() => booleanValue('config.json', 'rms_norm', 'false')).toThrow('config.json: rms_norm must be true or false, got "false"');
    expect(positiveInt('c', 'n', 0, 0)).toBe(0);
    expect(booleanValue('c', 'b', false)).toBe(false);
  });
});
