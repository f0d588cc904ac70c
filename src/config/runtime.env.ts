import { IsIn, IsString } from 'class-validator';

/** Variables several namespaces need: which environment this is, and where local data lives. */
export class RuntimeEnv {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  /** Where the embedded database and generated development secrets live. */
  @IsString()
  DATA_DIR: string = './.data';
}
