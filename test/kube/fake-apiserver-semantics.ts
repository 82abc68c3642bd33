// Why: the pure rules of kube-apiserver that the fake in fake-apiserver.ts must get exactly right and that
// need no server to test: label selectors (apimachinery labels.Parse), field selectors (fields.ParseSelector,
// with each kind's supported field labels), LabelSelector objects (PDB spec.selector), and the three patch
// formats. Everything here is a function of its arguments; errors are thrown as SemanticError with the
// HTTP status the apiserver would answer.

/** An input the apiserver would refuse; `code` is the HTTP status (400 BadRequest, 422 Invalid). */
export class SemanticError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

type Json = Record<string, unknown>;
export const isPlainObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Structural equality of JSON values; an undefined member counts as absent. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => deepEqual(v, b[i]));
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (!deepEqual(a[k], b[k])) return false;
  return true;
}

// ---- label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x)`; comma = AND ----

export interface LabelRequirement {
  key: string;
  op: 'eq' | 'ne' | 'in' | 'notin' | 'exists' | 'absent';
  values: string[];
}

const LABEL_KEY = '[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?';
const LABEL_VALUE = '([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?';
const EQ_TERM = new RegExp(`^(${LABEL_KEY})\\s*(==|=|!=)\\s*(${LABEL_VALUE})$`);
const SET_TERM = new RegExp(`^(${LABEL_KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`);
const KEY_ONLY = new RegExp(`^(!?)\\s*(${LABEL_KEY})$`);
const VALUE_ONLY = new RegExp(`^${LABEL_VALUE}$`);

export function parseLabelSelector(text: string): LabelRequirement[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  const out: LabelRequirement[] = [];
  for (const raw of terms) {
    const term = raw.trim();
    if (term === '' && terms.length === 1) continue;
    let m = EQ_TERM.exec(term);
    if (m) {
      out.push({ key: m[1]!, op: m[3] === '!=' ? 'ne' : 'eq', values: [m[4] ?? ''] });
      continue;
    }
    m = SET_TERM.exec(term);
    if (m) {
      const values = m[4]!.split(',').map((v) => v.trim());
      if (values.some((v) => !VALUE_ONLY.test(v))) throw new SemanticError(400, `unable to parse requirement: invalid value in "${term}"`);
      out.push({ key: m[1]!, op: m[3] === 'in' ? 'in' : 'notin', values });
      continue;
    }
    m = KEY_ONLY.exec(term);
    if (m) {
      out.push({ key: m[2]!, op: m[1] === '!' ? 'absent' : 'exists', values: [] });
      continue;
    }
    throw new SemanticError(400, `unable to parse requirement: found '${term}', expected: key, !key, key=value, key!=value, key in (...), key notin (...)`);
  }
  return out;
}

/** `!=` and `notin` match objects without the label, as in apimachinery. */
export function labelsMatch(reqs: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  for (const r of reqs) {
    const has = labels !== undefined && Object.hasOwn(labels, r.key);
    const value = has ? labels[r.key] : undefined;
    const ok =
      r.op === 'eq' ? has && value === r.values[0]
      : r.op === 'ne' ? !has || value !== r.values[0]
      : r.op === 'in' ? has && r.values.includes(value!)
      : r.op === 'notin' ? !has || !r.values.includes(value!)
      : r.op === 'exists' ? has
      : !has;
    if (!ok) return false;
  }
  return true;
}

/**
 * A metav1.LabelSelector (matchLabels + matchExpressions). policy/v1 semantics: null selects nothing,
 * `{}` selects everything.
 */
export function selectorObjectMatches(selector: unknown, labels: Record<string, string> | undefined): boolean {
  if (!isPlainObject(selector)) return false;
  const reqs: LabelRequirement[] = [];
  for (const [key, value] of Object.entries((selector.matchLabels ?? {}) as Record<string, string>)) reqs.push({ key, op: 'eq', values: [value] });
  const ops: Record<string, LabelRequirement['op']> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: 'absent' };
  for (const e of (selector.matchExpressions ?? []) as { key: string; operator: string; values?: string[] }[]) {
    const op = ops[e.operator];
    if (op === undefined) return false;
    reqs.push({ key: e.key, op, values: e.values ?? [] });
  }
  return labelsMatch(reqs, labels);
}

// ---- field selectors: `f=v`, `f==v`, `f!=v`; comma = AND; `\,` `\=` `\!` `\\` escapes ----

export interface FieldRequirement {
  field: string;
  negate: boolean;
  value: string;
}

/** Field labels every kind supports; kinds add their own (Pod: spec.nodeName, ...). */
const COMMON_FIELDS = ['metadata.name', 'metadata.namespace'];
/** The value a field label has when the field is unset (apiserver field sets use Go zero values). */
const FIELD_DEFAULTS: Record<string, string> = { 'spec.unschedulable': 'false' };
/** Field labels whose value is not at the same path in the object. */
const FIELD_PATHS: Record<string, string> = { source: 'source.component' };

export function parseFieldSelector(text: string, kindFields: readonly string[]): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  const terms: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      cur += ch + text[++i];
    } else if (ch === ',') {
      terms.push(cur);
      cur = '';
    } else cur += ch;
  }
  terms.push(cur);
  for (const term of terms) {
    if (term === '' && terms.length === 1) continue;
    const m = /^(.*?)(!=|==|=)(.*)$/.exec(term.replace(/\\([,=!\\])/g, '\u0000$1'));
    if (!m) throw new SemanticError(400, `invalid selector: '${text}'; can't understand '${term}'`);
    const unescape = (s: string): string => s.replace(/\u0000(.)/g, '$1');
    const field = unescape(m[1]!).trim();
    if (!COMMON_FIELDS.includes(field) && !kindFields.includes(field)) {
      throw new SemanticError(400, `field label not supported: ${field}`);
    }
    out.push({ field, negate: m[2] === '!=', value: unescape(m[3]!) });
  }
  return out;
}

export function fieldValue(obj: Json, field: string): string {
  let v: unknown = obj;
  for (const part of (FIELD_PATHS[field] ?? field).split('.')) v = isPlainObject(v) ? v[part] : undefined;
  if (v === undefined || v === null) return FIELD_DEFAULTS[field] ?? '';
  return typeof v === 'string' ? v : String(v);
}

export function fieldsMatch(reqs: FieldRequirement[], obj: Json): boolean {
  for (const r of reqs) if ((fieldValue(obj, r.field) === r.value) === r.negate) return false;
  return true;
}

// ---- patches ----

/** RFC 7386 JSON merge patch; never mutates `target`. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const out: Json = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * Lists that strategic merge patch merges by key instead of replacing (the patchMergeKey tags of the
 * core/v1 types the fake serves). Other lists are replaced, as in a JSON merge patch.
 */
const MERGE_KEYS: Record<string, string> = {
  conditions: 'type',
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  ownerReferences: 'uid',
  imagePullSecrets: 'name',
  addresses: 'type',
};

/** Strategic merge patch for the merge keys above, `$patch: delete` in list items; other `$` directives are ignored. */
export function strategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const out: Json = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    const key = MERGE_KEYS[k];
    if (v === null) delete out[k];
    else if (key !== undefined && Array.isArray(v) && Array.isArray(out[k]) && v.every(isPlainObject)) {
      const merged = [...(out[k] as unknown[])];
      for (const item of v as Json[]) {
        const at = merged.findIndex((m) => isPlainObject(m) && m[key] === item[key]);
        if (item.$patch === 'delete') {
          if (at >= 0) merged.splice(at, 1);
        } else if (at >= 0) merged[at] = strategicMergePatch(merged[at], item);
        else merged.push(strategicMergePatch(undefined, item));
      }
      out[k] = merged;
    } else out[k] = strategicMergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 JSON patch (add, remove, replace, move, copy, test) on a copy of `doc`. */
export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new SemanticError(400, 'a JSON patch must be an array of operations');
  let root = structuredClone(doc);
  const parse = (pointer: unknown): string[] => {
    if (typeof pointer !== 'string' || (pointer !== '' && !pointer.startsWith('/'))) throw new SemanticError(400, `invalid JSON pointer ${JSON.stringify(pointer)}`);
    return pointer === '' ? [] : pointer.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  };
  const parentOf = (path: string[]): { parent: unknown; last: string } => {
    let parent: unknown = root;
    for (const p of path.slice(0, -1)) {
      parent = Array.isArray(parent) ? parent[Number(p)] : isPlainObject(parent) ? parent[p] : undefined;
      if (parent === undefined) throw new SemanticError(422, `jsonpatch: path /${path.join('/')} does not exist`);
    }
    return { parent, last: path[path.length - 1] ?? '' };
  };
  const read = (path: string[]): unknown => {
    if (path.length === 0) return root;
    const { parent, last } = parentOf(path);
    const v = Array.isArray(parent) ? parent[Number(last)] : isPlainObject(parent) ? parent[last] : undefined;
    if (v === undefined) throw new SemanticError(422, `jsonpatch: path /${path.join('/')} does not exist`);
    return v;
  };
  const remove = (path: string[]): unknown => {
    const v = read(path);
    const { parent, last } = parentOf(path);
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete (parent as Json)[last];
    return v;
  };
  const add = (path: string[], value: unknown): void => {
    if (path.length === 0) {
      root = value;
      return;
    }
    const { parent, last } = parentOf(path);
    if (Array.isArray(parent)) {
      const at = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(at) || at < 0 || at > parent.length) throw new SemanticError(422, `jsonpatch: index ${last} out of range`);
      parent.splice(at, 0, value);
    } else if (isPlainObject(parent)) parent[last] = value;
    else throw new SemanticError(422, `jsonpatch: cannot add to /${path.join('/')}`);
  };
  for (const op of ops) {
    if (!isPlainObject(op)) throw new SemanticError(400, 'a JSON patch operation must be an object');
    const path = parse(op.path);
    if (op.op === 'add') add(path, structuredClone(op.value));
    else if (op.op === 'remove') remove(path);
    else if (op.op === 'replace') {
      if (path.length > 0) remove(path);
      add(path, structuredClone(op.value));
    } else if (op.op === 'move') add(path, remove(parse(op.from)));
    else if (op.op === 'copy') add(path, structuredClone(read(parse(op.from))));
    else if (op.op === 'test') {
      if (!deepEqual(read(path), op.value)) throw new SemanticError(422, `jsonpatch: test operation for path ${String(op.path)} failed`);
    } else throw new SemanticError(400, `jsonpatch: unknown operation ${JSON.stringify(op.op)}`);
  }
  return root;
}
