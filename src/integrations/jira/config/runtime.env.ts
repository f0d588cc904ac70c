import { IsIn, IsString } from 'class-validator';
import { Describe } from './describe.js';

/** Variables several namespaces need: which environment this is, and where local data lives. */
export class RuntimeEnv {
  @IsIn(['development', 'production', 'test'])
  @Describe('`production` refuses generated secrets, placeholder values and (unless `ALLOW_EMBEDDED_DATABASE=true`) the embedded database')
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  /** Where the embedded database and generated development secrets live. */
  @IsString()
  @Describe('where the embedded database and the generated development secrets (`dev-secrets.json`) live; `memory://` keeps everything in memory')
  DATA_DIR: string = './.data';
}
