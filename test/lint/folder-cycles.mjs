#!/usr/bin/env node
// Folder-level import cycles, which dependency-cruiser's file-level `no-circular` misses:
// modules/a/x.ts -> modules/b/y.ts and modules/b/z.ts -> modules/a/w.ts is no file cycle, but the
// two folders now depend on each other. Reads dependency-cruiser's JSON (`depcruise -T json`) from
// a file argument or stdin, collapses each file to its folder and fails listing every cycle.
//
// Folders: src/modules/<name> for a feature module, src/<name> for the rest of src (common,
// config, persistence, storage, redis, llm, metrics, metering, cli; subfolders such as
// metering/limits fold into their parent), "src" for the files at its top (main.ts, app.*.ts),
// test/<name> for test code. Specs (*.spec.ts, *.e2e-spec.ts, *.int-spec.ts ...) are left out: nothing imports a
// spec, so one can never be on a real cycle, while folding it into its folder would make a false
// one (src/persistence's spec -> test/support -> src/persistence).
import { readFileSync } from 'node:fs';

const SPEC = /[.-]spec\.ts$/;

/** The folder a file belongs to, or null for what the check ignores (packages, generated code, specs). */
function folderOf(file) {
  if (SPEC.test(file)) return null;
  const parts = file.split('/');
  if (parts[0] !== 'src' && parts[0] !== 'test') return null;
  if (parts[0] === 'src' && parts[1] === 'generated') return null;
  if (parts.length === 2) return parts[0];
  if (parts[0] === 'src' && parts[1] === 'modules' && parts.length > 3) return parts.slice(0, 3).join('/');
  return parts.slice(0, 2).join('/');
}

/** Folder edges, each with the file imports that make it: Map<from, Map<to, string[]>>. */
function folderGraph(cruise) {
  const graph = new Map();
  for (const mod of cruise.modules) {
    const from = folderOf(mod.source);
    if (!from) continue;
    for (const dep of mod.dependencies) {
      const to = folderOf(dep.resolved);
      if (!to || to === from) continue;
      if (!graph.has(from)) graph.set(from, new Map());
      const edges = graph.get(from);
      if (!edges.has(to)) edges.set(to, []);
      edges.get(to).push(`${mod.source} -> ${dep.resolved}`);
    }
  }
  return graph;
}

/** Strongly connected components with more than one folder (Tarjan), each sorted. */
function cycles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  let next = 0;
  const visit = (node) => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node)?.keys() ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node), low.get(to)));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node), index.get(to)));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found.sort((a, b) => a[0].localeCompare(b[0]));
}

/** The shortest way round from `start` back to itself inside one component (breadth first). */
function shortestLoop(graph, component, start) {
  const inside = new Set(component);
  const previous = new Map();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift();
    for (const to of [...(graph.get(node)?.keys() ?? [])].sort()) {
      if (!inside.has(to)) continue;
      if (to === start) {
        const path = [start];
        for (let at = node; at !== start; at = previous.get(at)) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!previous.has(to)) {
        previous.set(to, node);
        queue.push(to);
      }
    }
  }
  return [start];
}

/**
 * The report, one block per group of folders on cycles with each other: the shortest loop through
 * each of its folders (one of their imports has to go), then the imports that make those loops.
 */
function describe(graph, found) {
  return found.map((component) => {
    const loops = new Map();
    for (const start of component) {
      const loop = shortestLoop(graph, component, start).slice(0, -1);
      const first = loop.indexOf([...loop].sort()[0]);
      const rotated = [...loop.slice(first), ...loop.slice(0, first)];
      loops.set(rotated.join(' -> '), rotated);
    }
    const lines = [`folder cycle${loops.size > 1 ? 's' : ''} among ${component.join(', ')}:`];
    const edges = new Map();
    for (const loop of [...loops.values()].sort((a, b) => a.length - b.length || a.join().localeCompare(b.join()))) {
      lines.push(`  ${[...loop, loop[0]].join(' -> ')}`);
      loop.forEach((from, i) => edges.set(`${from} -> ${loop[(i + 1) % loop.length]}`, graph.get(from).get(loop[(i + 1) % loop.length])));
    }
    lines.push('  through:');
    for (const [edge, imports] of [...edges].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`    ${edge}: ${imports.slice(0, 3).join(', ')}${imports.length > 3 ? `, and ${imports.length - 3} more` : ''}`);
    }
    return lines.join('\n');
  });
}

function main() {
  const input = readFileSync(process.argv[2] ?? 0, 'utf8');
  const cruise = input.trim() === '' ? null : JSON.parse(input);
  if (!Array.isArray(cruise?.modules)) {
    console.error('folder-cycles: expected dependency-cruiser JSON (depcruise -T json) on stdin or as a file');
    process.exitCode = 2;
    return;
  }
  const graph = folderGraph(cruise);
  const found = cycles(graph);
  if (found.length === 0) {
    console.log(`no folder cycles (${graph.size} folders with imports between them)`);
    return;
  }
  console.error(describe(graph, found).join('\n\n'));
  console.error(`\n${found.length} group(s) of folders on import cycles: each folder's imports must go one way`);
  process.exitCode = 1;
}

main();
