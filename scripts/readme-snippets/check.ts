// Type-checks every ```ts block of README.md against the workspace's sources, so the examples keep compiling.
//
// Each block becomes a module in .tmp/readme-snippets/ (inside the workspace, so Node's module rules and the
// repository's package.json apply), compiled with tsconfig.base.json's options and `@eddy/*` mapped to the packages'
// sources. The names a block takes from its surroundings in the README (a `builder`, an `Order` type, ...) are
// declared once in context.d.ts; a block's own imports and declarations shadow them.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A ```ts block of a Markdown text: its first code line (1-based) and its code, indentation removed. */
export interface Snippet {
  line: number;
  code: string;
}

export function extractSnippets(markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```ts\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j]!)) body.push(lines[j++]!.slice(indent));
    if (j === lines.length) throw new Error(`README.md:${i + 1}: the \`\`\`ts block is never closed`);
    snippets.push({ line: i + 2, code: body.join('\n') });
    i = j;
  }
  return snippets;
}

/** The compiler's messages for `snippets`, each as `README.md:<line>:<column> <message>`. */
export function checkSnippets(
  snippets: Snippet[],
  workDir = join(root, '.tmp', 'readme-snippets'),
): string[] {
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const files = new Map<string, Snippet>();
  snippets.forEach((s, i) => {
    const file = join(workDir, `snippet-${i + 1}.ts`);
    // `export {}` makes every block a module of its own, so blocks do not see each other's declarations.
    writeFileSync(file, `${s.code}\nexport {};\n`);
    files.set(file, s);
  });
  const base = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.base.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (base === undefined) throw new Error('tsconfig.base.json could not be read');
  const options: ts.CompilerOptions = {
    ...base.options,
    noEmit: true,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    paths: { '@eddy/*': [join(root, 'packages/*/src/index.ts')] },
  };
  const context = join(root, 'scripts', 'readme-snippets', 'context.d.ts');
  const program = ts.createProgram([context, ...files.keys()], options);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.file === undefined) return text;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    const snippet = files.get(resolve(d.file.fileName));
    if (snippet === undefined)
      return `${relative(root, d.file.fileName)}:${line + 1}:${character + 1} ${text}`;
    return `README.md:${snippet.line + line}:${character + 1} ${text}`;
  });
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const snippets = extractSnippets(readFileSync(join(root, 'README.md'), 'utf8'));
  const errors = checkSnippets(snippets);
  for (const e of errors) console.error(e);
  console.error(`[readme] ${snippets.length} TypeScript blocks, ${errors.length} errors`);
  process.exitCode = errors.length === 0 ? 0 : 1;
}
