import { DomainError } from '../errors/domain-error.js';

/**
 * The rule every request value obeys before any schema sees it, on every route and transport:
 * what PostgreSQL cannot store, and what would overflow the stack of a recursive walk
 * (JSON.stringify, schema validation), is refused as a 400 naming the field.
 * - strings and object keys: no NUL character (text and jsonb refuse it) and no lone surrogate
 *   (jsonb refuses the escape JSON.stringify writes for one);
 * - nesting: at most MAX_DEPTH levels of objects and arrays.
 * The walk is iterative, so a body nested 100,000 deep is refused, not a stack overflow.
 */
export const MAX_DEPTH = 64;

interface Node {
  value: unknown;
  parent: Node | null;
  key: string | number | null;
  depth: number;
}

export function assertStorable(value: unknown, root: string | null = null): void {
  const stack: Node[] = [{ value, parent: null, key: null, depth: 0 }];
  while (stack.length) {
    const node = stack.pop()!;
    const v = node.value;
    if (typeof v === 'string') {
      checkText(v, node, root, '');
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (node.depth >= MAX_DEPTH) throw refusal(node, root, `is nested more than ${MAX_DEPTH} levels deep`);
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], parent: node, key: i, depth: node.depth + 1 });
      continue;
    }
    for (const key of Object.keys(v)) {
      const child: Node = { value: (v as Record<string, unknown>)[key], parent: node, key, depth: node.depth + 1 };
      checkText(key, child, root, 'its key ');
      stack.push(child);
    }
  }
}

/** `where` names the part at fault when it is not the value itself. */
function checkText(s: string, node: Node, root: string | null, where: string): void {
  if (s.includes('\u0000')) throw refusal(node, root, `${where}must not contain the NUL character (\\u0000)`);
  if (!s.isWellFormed()) throw refusal(node, root, `${where}must be well-formed Unicode (it holds a lone surrogate)`);
}

function refusal(node: Node, root: string | null, problem: string): DomainError {
  const path: string[] = [];
  for (let n: Node | null = node; n && n.key !== null; n = n.parent) path.unshift(printable(String(n.key)));
  if (root) path.unshift(root);
  const param = path.length ? path.join('.') : null;
  const message = param ? `Invalid '${param}': ${problem}.` : `Invalid request: the body ${problem}.`;
  return new DomainError('invalid', message, { param });
}

/** A key that is itself at fault is shown escaped, never echoed raw. */
function printable(key: string): string {
  return key.replaceAll('\u0000', '\\u0000').toWellFormed();
}
