import 'reflect-metadata';
import { prepareTemplateDatabase } from './helpers/test-db.js';

/** On PostgreSQL, migrate a template database once; every test file clones it. */
export default async function setup(): Promise<() => Promise<void>> {
  return prepareTemplateDatabase();
}
