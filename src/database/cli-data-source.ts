import 'reflect-metadata';
import { createDataSource } from './data-source.js';

/** For the TypeORM CLI: `npm run migration:run` / `migration:revert` (see package.json). */
export default createDataSource();
