/** Variables ENV_CHECK requires (shared by the activity and the dry-run). */
export const REQUIRED_ENV = ['POSTGRES_PASSWORD', 'KAFKA_BOOTSTRAP_SERVERS'] as const;
/** With INFISICAL_ADDR set: INFISICAL_PROJECT_ID too, because the real seed-infisical.py exits 1 without it. */
export const INFISICAL_ENV = [
  'INFISICAL_CLIENT_ID',
  'INFISICAL_CLIENT_SECRET',
  'INFISICAL_PROJECT_ID',
] as const;
