/** The environment variable naming the proving lane when --require-proven is not given (no imports: read before anything loads). */
export const REQUIRE_PROVEN_ENV = 'REDEPLOY_REQUIRE_PROVEN';
