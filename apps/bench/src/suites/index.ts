import type { Suite } from '../suite.js';

/** Every suite; add new ones here. */
export const suites: Suite[] = [];
