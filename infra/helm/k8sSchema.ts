import * as clientNode from '@kubernetes/client-node';

/**
 * Offline validation of rendered Kubernetes manifests, in two passes, since no API server runs here:
 *
 * 1. Types, required fields, enums and formats: the JSON-schema validators that `kubernetes-models` compiles
 *    from the Kubernetes OpenAPI definitions (ajv). Those schemas allow unknown properties, as the API
 *    server's non-strict decoding does, so a misspelt field would pass.
 * 2. Unknown fields (what `kubectl apply --validate=strict` rejects): every key is looked up in the model
 *    metadata that `@kubernetes/client-node` generates from the OpenAPI spec (`getAttributeTypeMap()`).
 */

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

interface ValidatableModel {
  validate(): void;
}
type ModelClass = new (data: unknown) => ValidatableModel;

interface AttributeType {
  baseName: string;
  type: string;
}
interface ModelMetadata {
  getAttributeTypeMap(): AttributeType[];
}

const modelCache = new Map<string, Promise<Record<string, unknown>>>();

/** `kubernetes-models/<group>/<version>` for a group's apiVersion, `kubernetes-models/v1` for core. */
async function modelsOf(apiVersion: string): Promise<Record<string, unknown>> {
  if (!/^([a-z0-9.-]+\/)?v[0-9]+((alpha|beta)[0-9]+)?$/.test(apiVersion)) {
    throw new Error(`cannot validate: unexpected apiVersion ${JSON.stringify(apiVersion)}`);
  }
  let p = modelCache.get(apiVersion);
  if (!p) {
    p = import(`kubernetes-models/${apiVersion}`) as Promise<Record<string, unknown>>;
    modelCache.set(apiVersion, p);
  }
  return p;
}

/** Pass 1: the OpenAPI-derived JSON schema of the object's kind. Returns error strings. */
async function schemaErrors(m: Manifest): Promise<string[]> {
  let models: Record<string, unknown>;
  try {
    models = await modelsOf(m.apiVersion);
  } catch (err) {
    return [`no schema for apiVersion ${m.apiVersion}: ${(err as Error).message}`];
  }
  const Model = models[m.kind] as ModelClass | undefined;
  if (typeof Model !== 'function') return [`no schema for ${m.apiVersion} ${m.kind}`];
  try {
    new Model(m).validate();
    return [];
  } catch (err) {
    const e = err as Error & { errors?: { instancePath: string; message?: string }[] };
    if (!e.errors) return [e.message];
    return e.errors.map((x) => `${x.instancePath || '/'} ${x.message ?? 'is invalid'}`);
  }
}

const PRIMITIVES = new Set(['string', 'number', 'boolean', 'Date', 'any', 'object', 'IntOrString']);
const ARRAY = /^Array<(.+)>$/;
const MAP = /^\{ \[key: string\]: (.+); \}$/;

/** Pass 2: every key must be a field of its OpenAPI type (client-node model metadata). */
function unknownFieldErrors(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined || PRIMITIVES.has(type)) return;
  const arr = ARRAY.exec(type);
  if (arr) {
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) unknownFieldErrors(v, arr[1]!, `${path}/${i}`, out);
    }
    return;
  }
  const map = MAP.exec(type);
  if (map) {
    if (typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) unknownFieldErrors(v, map[1]!, `${path}/${k}`, out);
    }
    return;
  }
  const model = (clientNode as unknown as Record<string, ModelMetadata | undefined>)[type];
  if (typeof model?.getAttributeTypeMap !== 'function') {
    out.push(`${path || '/'}: no field list for type ${type}`);
    return;
  }
  if (typeof value !== 'object' || Array.isArray(value)) return; // a type error, reported by pass 1
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    const fieldType = fields.get(k);
    if (fieldType === undefined) out.push(`${path}/${k}: unknown field (not in ${type})`);
    else unknownFieldErrors(v, fieldType, `${path}/${k}`, out);
  }
}

/** Name of the client-node model for a top-level kind: V1<Kind> for every stable group we render. */
function topLevelType(m: Manifest): string {
  const version = m.apiVersion.split('/').pop()!;
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${m.kind}`;
}

/** All problems of one manifest, each prefixed with `<Kind>/<name>`; empty when valid. */
export async function validateManifest(m: Manifest): Promise<string[]> {
  const where = `${m.kind}/${m.metadata?.name ?? '?'}`;
  const errors = await schemaErrors(m);
  // A kind without a schema is already reported; its field list would be missing too.
  if (!errors.some((e) => e.startsWith('no schema for'))) unknownFieldErrors(m, topLevelType(m), '', errors);
  return errors.map((e) => `${where}: ${e}`);
}
