/**
 * The docs against the tree: the README stays short and opens with the two commands, every
 * relative link (and #anchor) resolves, every OTEL_* variable the sources read and every
 * instrumentation name the preload knows is in docs/configuration.md, the docs state the
 * openai version range the instrumentation patches, and docs/libraries.md gives every client
 * library's range as its registry entry has it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { OPENAI_SUPPORTED_VERSIONS } from '../../packages/instrumentation/src/instrumentations/openai/instrumentation.js';
import { INFERENCE_INSTRUMENTATIONS } from '../../packages/instrumentation/src/instrumentations/registry.js';
import { REGISTER_INSTRUMENTATIONS } from '../../packages/otel-inference/src/register/instrumentations.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** README.md, CONTRIBUTING.md and every docs/*.md, as repo-relative paths. */
const DOCS = [
  'README.md',
  'CONTRIBUTING.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

/** The text with fenced code blocks blanked out (line numbers kept) and inline code spans removed. */
function prose(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ''))
    .replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for each heading of a Markdown text (duplicates get -1, -2, …). */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const m of withoutFences.matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/gm)) {
    const text = (m[1] ?? '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** Every link target of a Markdown text outside code: inline links, images, reference definitions. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] ?? '');
  const references = [...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1] ?? '');
  return [...inline, ...references];
}

/** Every .ts file under a directory. */
function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Whole-word occurrence of an UPPER_SNAKE name (so OTEL_X is not found inside OTEL_X_Y). */
const mentions = (text: string, name: string): boolean => new RegExp(`(?<![A-Z0-9_])${name}(?![A-Z0-9_])`).test(text);

describe('README.md', () => {
  const readme = read('README.md');

  it('is at most 150 lines', () => {
    const lines = readme.endsWith('\n') ? readme.split('\n').length - 1 : readme.split('\n').length;
    expect(lines).toBeLessThanOrEqual(150);
  });

  it('opens with a code block of exactly the two newcomer commands', () => {
    const first = /^(```|~~~)[^\n]*\n([\s\S]*?)^\1/m.exec(readme);
    expect(first, 'README.md has no fenced code block').not.toBeNull();
    const commands = (first?.[2] ?? '')
      .split('\n')
      .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
      .filter((line) => line !== '');
    expect(commands).toEqual(['npm install && npm start', 'npm test']);
  });
});

describe('links', () => {
  it.each(DOCS)('every relative link in %s resolves (files and #anchors)', (doc) => {
    const broken: string[] = [];
    for (const target of linkTargets(read(doc))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
      const hash = target.indexOf('#');
      const path = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
      const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
      const file = path === '' ? join(ROOT, doc) : resolve(ROOT, dirname(doc), path);
      if (!existsSync(file)) {
        broken.push(`${target}: no such file (${relative(ROOT, file)})`);
        continue;
      }
      if (anchor !== undefined && anchor !== '' && file.endsWith('.md')) {
        if (!anchorsOf(readFileSync(file, 'utf8')).has(anchor)) broken.push(`${target}: no heading with anchor #${anchor} in ${relative(ROOT, file)}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('docs/configuration.md', () => {
  const configuration = read('docs/configuration.md');

  /**
   * Every OTEL_* name in the packages' sources. Not variables: prefixes written as
   * `OTEL_EXPORTER_OTLP_*` (ending in `_`) and names the sources declare as constants.
   */
  const sources = ['instrumentation', 'otel-inference'].flatMap((pkg) => tsFiles(join(ROOT, 'packages', pkg, 'src')));
  const texts = sources.map((file) => readFileSync(file, 'utf8'));
  const declared = new Set(
    texts.flatMap((text) => [...text.matchAll(/\b(?:const|let|var|function|class|enum|type|interface)\s+(OTEL_[A-Z0-9_]+)\b/g)].map((m) => m[1] ?? '')),
  );
  const variables = [
    ...new Set(texts.flatMap((text) => [...text.matchAll(/\b(OTEL_[A-Z0-9_]+)\b/g)].map((m) => m[1] ?? ''))),
  ]
    .filter((name) => !name.endsWith('_') && !declared.has(name))
    .sort();

  it('documents every OTEL_* variable the sources name', () => {
    expect(sources.length).toBeGreaterThan(10);
    expect(variables).toContain('OTEL_SERVICE_NAME');
    expect(variables).toContain('OTEL_NODE_DISABLED_INSTRUMENTATIONS');
    expect(variables.filter((name) => !mentions(configuration, name))).toEqual([]);
  });

  it('has a row in its instrumentations table for every name the preload can enable', () => {
    const names = REGISTER_INSTRUMENTATIONS.map((entry) => entry.name);
    expect(names).toContain('inference-openai');
    const missing = names.filter((name) => !new RegExp(`^\\|\\s*\`${name}\`\\s*\\|`, 'm').test(configuration));
    expect(missing).toEqual([]);
  });
});

describe('the openai version range', () => {
  /** `>=4.0.0 <8` → majors 4 to 7. */
  const majors = OPENAI_SUPPORTED_VERSIONS.map((range) => {
    const m = /^>=\s*(\d+)(?:\.\d+){0,2}\s+<\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
    if (!m) throw new Error(`cannot read the range ${JSON.stringify(range)}: teach test/docs/docs.test.ts its form`);
    const upperIsMajor = Number(m[3] ?? 0) === 0 && Number(m[4] ?? 0) === 0;
    return { min: Number(m[1]), max: upperIsMajor ? Number(m[2]) - 1 : Number(m[2]) };
  });
  const min = Math.min(...majors.map((r) => r.min));
  const max = Math.max(...majors.map((r) => r.max));
  const phrase = `v${min} to v${max}`;

  it.each(['README.md', 'docs/api.md', 'docs/configuration.md'])(`%s says openai ${phrase}`, (doc) => {
    // "openai" and the phrase within a few words of each other, line breaks allowed.
    const said = new RegExp(`openai[\\s\\S]{0,80}?\\b${phrase}\\b`).test(read(doc));
    expect(said, `${doc} should name the openai versions as "${phrase}"`).toBe(true);
  });

  it.each(DOCS)('every major-version range or list in %s matches OPENAI_SUPPORTED_VERSIONS', (doc) => {
    const text = read(doc);
    const wrong: string[] = [];
    for (const m of text.matchAll(/\bv(\d+)\s*(?:to|through|–|-)\s*v(\d+)\b/g)) {
      if (Number(m[1]) !== min || Number(m[2]) !== max) wrong.push(m[0]);
    }
    for (const m of text.matchAll(/\bv(\d+)(?:,\s*v\d+)*,?\s+and\s+v(\d+)\b/g)) {
      if (Number(m[1]) !== min || Number(m[2]) !== max) wrong.push(m[0]);
    }
    expect(wrong, `expected ${phrase}`).toEqual([]);
  });
});

describe('docs/libraries.md', () => {
  const libraries = read('docs/libraries.md');
  const clientEntries = INFERENCE_INSTRUMENTATIONS.filter((entry) => entry.modules.length > 0);

  it.each(clientEntries.map((entry) => [entry.name, entry] as const))('has a row for %s with its supportedVersions', (name, entry) => {
    const row = libraries.split('\n').find((line) => line.includes(`| \`${name}\` |`));
    expect(row, `a table row naming \`${name}\``).toBeDefined();
    const cells = row!.split('|').map((cell) => cell.trim());
    expect(cells[3]).toBe(entry.supportedVersions.map((range) => `\`${range}\``).join(', '));
  });

  it('lists no instrumentation the registry does not have', () => {
    const named = [...libraries.matchAll(/^\| [^|]+ \| `(inference-[a-z-]+)` \|/gm)].map((m) => m[1]);
    expect(named).toEqual(clientEntries.map((entry) => entry.name));
  });
});
