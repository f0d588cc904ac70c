/* Reading the served OpenAPI document (/api/docs-json) in tests. */

export interface Schema {
  $ref?: string;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  type?: string;
  enum?: string[];
  required?: string[];
  properties?: Record<string, Schema>;
}

export interface Operation {
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, {
    description?: string;
    headers?: Record<string, unknown>;
    content?: Record<string, { schema: Schema }>;
  }>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

export const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

export function resolve(doc: OpenApiDocument, schema: Schema): Schema {
  if (!schema.$ref) return schema;
  const name = schema.$ref.replace('#/components/schemas/', '');
  const target = doc.components.schemas[name];
  if (!target) throw new Error(`dangling $ref ${schema.$ref}`);
  return resolve(doc, target);
}

/** The `code` values a schema allows; null when any string is. */
export function codesOf(doc: OpenApiDocument, raw: Schema): string[] | null {
  const schema = resolve(doc, raw);
  if (schema.allOf) {
    const parts = schema.allOf.map((s) => codesOf(doc, s)).filter((c): c is string[] => c !== null);
    return parts.length === 0 ? null : parts.reduce((a, b) => a.filter((c) => b.includes(c)));
  }
  const variants = schema.oneOf ?? schema.anyOf;
  if (variants) {
    const parts = variants.map((s) => codesOf(doc, s));
    return parts.includes(null) ? null : [...new Set(parts.flat() as string[])];
  }
  const code = schema.properties?.code;
  return code?.enum ?? null;
}

/** Codes documented for one operation and status (undefined: that status is not documented). */
export function documentedCodes(doc: OpenApiDocument, path: string, method: string, status: number): string[] | null | undefined {
  const response = doc.paths[path]?.[method]?.responses[String(status)];
  const schema = response?.content?.['application/problem+json']?.schema;
  return schema ? codesOf(doc, schema) : undefined;
}
