/**
 * What a variable is for, next to its definition: docs/configuration.md is generated from these
 * (`npm run docs:config`), together with each variable's default and class-validator constraints,
 * so the reference cannot drift from the schema the app validates.
 */
export interface VariableDoc {
  description: string;
  /** What the default column says when the property's initializer does not tell (e.g. a derived default). */
  default?: string;
}

const docs = new Map<object, Map<string, VariableDoc>>();

export function Describe(description: string, extra: Omit<VariableDoc, 'description'> = {}): PropertyDecorator {
  return (target, property) => {
    const own = docs.get(target) ?? new Map<string, VariableDoc>();
    own.set(String(property), { description, ...extra });
    docs.set(target, own);
  };
}

/** The documentation of `property` on `cls` or one of its base classes. */
export function describedVariable(cls: new () => object, property: string): VariableDoc | undefined {
  for (let proto = cls.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    const doc = docs.get(proto)?.get(property);
    if (doc) return doc;
  }
  return undefined;
}
