/**
 * Values a hostile or damaged file puts where a loader expects numbers, strings or objects,
 * named like Object's members: the strings find inherited methods through `obj[key]` and `in`,
 * and the objects are what JSON.parse gives for keys named like methods (`{"toString": null}`),
 * on which `String(v)`, template literals and comparisons throw a TypeError. Fuzz tests of file
 * readers draw from these besides fast-check's own values.
 */
export const OBJECT_MEMBER_VALUES: readonly unknown[] = [
  'toString',
  'constructor',
  '__proto__',
  'valueOf',
  { toString: null },
  { valueOf: 1, toString: 'x' },
  [{ toString: null }],
  { toJSON: null, toString: [] },
];
