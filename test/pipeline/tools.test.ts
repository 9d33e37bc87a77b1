/** The CI rule of the tool checks: which values of CI make a missing tool a failure rather than a skip. */
import { describe, expect, it } from 'vitest';
import { CI, isCI, requireTool } from './tools.js';

describe('isCI: any non-empty value but false and 0 means CI', () => {
  it.each(['true', 'TRUE', '1', 'yes', 'on', 'woodpecker', ' true '])('CI=%j → CI', (value) => {
    expect(isCI(value)).toBe(true);
  });

  it.each([undefined, '', '  ', 'false', 'FALSE', 'False', '0', ' 0 '])('CI=%j → not CI', (value) => {
    expect(isCI(value)).toBe(false);
  });

  it("this process's CI follows the rule", () => {
    expect(CI).toBe(isCI(process.env.CI));
  });
});

describe('requireTool', () => {
  const ctx = () => {
    const skipped: (string | undefined)[] = [];
    return { skipped, skip: (note?: string) => void skipped.push(note) };
  };

  it('does nothing when the tool is there', () => {
    const c = ctx();
    requireTool(c, true, 'install x');
    expect(c.skipped).toEqual([]);
  });

  it('outside CI, a missing tool skips, naming the install step', () => {
    const c = ctx();
    requireTool(c, false, 'run scripts/install-x.sh', false);
    expect(c.skipped).toEqual(['run scripts/install-x.sh first']);
  });

  it('in CI, a missing tool fails', () => {
    const c = ctx();
    expect(() => requireTool(c, false, 'run scripts/install-x.sh', true)).toThrow(/missing tool in CI: run scripts\/install-x.sh first/);
    expect(c.skipped).toEqual([]);
  });
});
