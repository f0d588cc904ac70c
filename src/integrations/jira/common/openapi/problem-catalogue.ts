import type { OpenAPIObject } from '@nestjs/swagger';
import { CommonErrorCode } from '../app-error.js';

type Json = Record<string, unknown>;

function collectEnums(node: unknown, into: Set<string>): void {
  if (Array.isArray(node)) return node.forEach((n) => collectEnums(n, into));
  if (!node || typeof node !== 'object') return;
  const code = (node as { properties?: { code?: { enum?: unknown } } }).properties?.code?.enum;
  if (Array.isArray(code)) code.forEach((c) => into.add(String(c)));
  Object.values(node).forEach((v) => collectEnums(v, into));
}

/**
 * `#/components/schemas/ProblemCode`: every code the API can answer, i.e. the codes routes
 * document plus the ones any request can meet (not_found and method_not_allowed for unknown
 * routes, internal_error). `Problem.code` refers to it, so even an un-narrowed problem is typed.
 */
export function addProblemCodeCatalogue(document: OpenAPIObject): OpenAPIObject {
  const codes = new Set<string>(Object.values(CommonErrorCode));
  collectEnums(document.paths, codes);
  const schemas = (document.components ??= {}).schemas ??= {};
  schemas.ProblemCode = {
    type: 'string',
    enum: [...codes].sort(),
    description: 'Every problem code. Unknown routes answer 404 `not_found`, unknown methods 405 `method_not_allowed`.',
  };
  const problem = schemas.Problem as Json | undefined;
  const properties = problem?.properties as Json | undefined;
  if (properties?.code) {
    const { description } = properties.code as Json;
    properties.code = { description, allOf: [{ $ref: '#/components/schemas/ProblemCode' }] };
  }
  return document;
}
