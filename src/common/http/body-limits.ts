/** Largest JSON body accepted (413 payload_too_large above it); every route takes a few fields. */
export const JSON_BODY_LIMIT_BYTES = 32 * 1024;

/** Deepest JSON accepted (400 body_too_deep); class-transformer recurses once per level. */
export const MAX_BODY_DEPTH = 32;
