import 'reflect-metadata';
import { loadEnvFile } from '../config/load-env-file.js';
import { createDataSource } from './data-source.js';

/** For the TypeORM CLI: `npm run migration:run` / `migration:revert` (see package.json). */
loadEnvFile();
export default createDataSource();
