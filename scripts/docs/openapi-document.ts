/** Where the committed OpenAPI document lives, relative to the repository root. */
export const OPENAPI_PATH = 'docs/openapi.json';

/**
 * The document /api/docs-json serves, built from the module graph alone: `preview: true` resolves
 * modules and controllers without instantiating providers, so no database opens and nothing
 * listens (a few seconds, most of it compiling the sources). It depends on no setting; the CLI
 * (scripts/docs.ts) still runs it with a clean environment.
 */
export async function generateOpenApiDocument(): Promise<string> {
  await import('reflect-metadata');
  const { NestFactory } = await import('@nestjs/core');
  const { AppModule } = await import('../../src/app.module.js');
  const { openApiDocument } = await import('../../src/app.setup.js');
  const app = await NestFactory.create(AppModule, { preview: true, logger: false, abortOnError: false });
  try {
    return `${JSON.stringify(openApiDocument(app), null, 2)}\n`;
  } finally {
    await app.close();
  }
}
