"""Shared helpers for the sandbox's Python stand-ins (installed in <root>/lib).

@SANDBOX_ROOT@ is replaced when the sandbox is created.
"""
import json
import os
import re
import shlex
import subprocess
import sys

ROOT = '@SANDBOX_ROOT@'
DEPLOYED_FILE = os.path.join(ROOT, 'deployed.json')


def record(name, argv):
    os.makedirs(os.path.join(ROOT, 'invocations'), exist_ok=True)
    with open(os.path.join(ROOT, 'invocations', name), 'a') as f:
        f.write(json.dumps(list(argv)) + '\n')


def load_fault(name):
    """The fault set for this stand-in (setFault), or {} when there is none."""
    try:
        with open(os.path.join(ROOT, 'faults', name + '.json')) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def apply_fault(name):
    fault = load_fault(name)
    secs = fault.get('sleepSeconds')
    if secs:
        # A child process, so cancellation tests see a grandchild to clean up.
        subprocess.call(['sleep', str(secs)])
    for var in fault.get('printEnv') or []:
        line = '%s=%s' % (var, os.environ.get(var, ''))
        print(line, flush=True)
        print(line, file=sys.stderr, flush=True)
    if fault.get('message'):
        print(fault['message'], file=sys.stderr, flush=True)
    if fault.get('exitCode') is not None:
        sys.exit(int(fault['exitCode']))


def apply_fault_after_work(name):
    """The fault's sleepAfterWorkSeconds: a slow finish once the script's change is made (before its report)."""
    secs = load_fault(name).get('sleepAfterWorkSeconds')
    if secs:
        subprocess.call(['sleep', str(secs)])


def fault_vars(path):
    """A fault file as shell assignments, for standin-lib.sh to eval."""
    with open(path) as f:
        d = json.load(f)
    names = [n for n in (d.get('printEnv') or []) if re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', n)]
    return '\n'.join([
        'FAULT_SLEEP=' + shlex.quote(str(d.get('sleepSeconds') or '')),
        'FAULT_EXIT=' + shlex.quote('' if d.get('exitCode') is None else str(int(d['exitCode']))),
        'FAULT_MESSAGE=' + shlex.quote(str(d.get('message') or '')),
        'FAULT_PRINTENV=' + shlex.quote(' '.join(names)),
    ])


def normalize(name):
    """PEP 503 name normalisation."""
    return re.sub(r'[-_.]+', '-', name).lower()


REQ_RE = re.compile(r'^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(\[[^\]]*\])?(.*)$')
# pip/uv options that consume the next token.
ARG_FLAGS = {'-r', '--requirement', '-c', '--constraint', '-e', '--editable', '-i', '--index-url',
             '--extra-index-url', '-f', '--find-links', '--python', '-p', '--target', '--prefix',
             # options whose value is a package name (pip, uv)
             '--no-binary', '--only-binary', '--upgrade-package', '-P', '--reinstall-package'}


def spec_to_version(spec):
    """'==1.2.0' -> '1.2.0'; ranges / unpinned are kept verbatim."""
    spec = spec.strip()
    # `===X` (arbitrary equality) installs X, as `==X` does.
    if spec.startswith('===') and ',' not in spec:
        return spec[3:].strip()
    if spec.startswith('==') and ',' not in spec:
        return spec[2:].strip()
    return spec


INDEX_FILE = os.path.join(ROOT, 'index.json')


def resolve(name, spec):
    """A range as a build resolves it: the newest release in the sandbox's index the range admits.

    Without an index entry for the package the specifier is recorded as written (older tests).
    """
    try:
        with open(INDEX_FILE) as f:
            index = {normalize(k): v for k, v in json.load(f).items()}
    except FileNotFoundError:
        return spec
    releases = index.get(normalize(name))
    if not releases:
        return spec
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version
    ok = sorted((Version(v) for v in SpecifierSet(spec).filter(releases)), reverse=True)
    return str(ok[0]) if ok else spec


def parse_pins(text):
    """Requirements of every `pip install` in a Dockerfile -> {name: version-or-spec}."""
    logical, cur = [], ''
    for raw in text.splitlines():
        # Docker drops comment lines even inside continuations.
        if raw.strip().startswith('#'):
            continue
        stripped = raw.rstrip()
        if stripped.endswith('\\'):
            cur += stripped[:-1] + ' '
            continue
        logical.append(cur + raw)
        cur = ''
    if cur:
        logical.append(cur)
    pins = {}
    for line in logical:
        try:
            # comments=True: the shell drops `# …` after a command (and the rest of the joined line).
            toks = shlex.split(line, comments=True)
        except ValueError:
            continue
        in_install, skip_next = False, False
        for i, tok in enumerate(toks):
            if tok in ('&&', '||', ';'):
                in_install = False
                continue
            if not in_install:
                if tok == 'install' and i > 0 and toks[i - 1] == 'pip':
                    in_install = True
                continue
            if skip_next:
                skip_next = False
                continue
            if tok.startswith('-'):
                skip_next = tok in ARG_FLAGS
                continue
            m = REQ_RE.match(tok)
            if not m:
                continue
            spec = m.group(3).split(';')[0].strip()
            if spec and spec[0] not in '<>=!~':
                continue
            version = spec_to_version(spec)
            pins[m.group(1)] = resolve(m.group(1), spec) if version == spec else version
    return pins


def write_json_atomic(path, data):
    tmp = '%s.tmp.%d' % (path, os.getpid())
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write('\n')
    os.replace(tmp, path)


CONTAINER_FILE = os.path.join(ROOT, 'deployed-container')
# `${VAR:?message}` (set and non-empty) and `${VAR?message}` (set), as compose interpolates them.
REQUIRED_RE = re.compile(r'\$\{([A-Za-z_][A-Za-z0-9_]*)(:?)\?([^}]*)\}')


def compose_check(files):
    """`docker compose config`'s interpolation check: the first required variable without a value fails."""
    for path in files:
        with open(path) as f:
            for line in f:
                if line.lstrip().startswith('#'):
                    continue
                for m in REQUIRED_RE.finditer(line):
                    name, colon, msg = m.group(1), m.group(2), m.group(3)
                    value = os.environ.get(name)
                    if value is None or (colon and value == ''):
                        print('error while interpolating %s: required variable %s is missing a value: %s'
                              % (os.path.basename(path), name, msg), file=sys.stderr)
                        return 1
    return 0


def readback(expected):
    """verify_deployed_versions.py's package check: every `pkg=ver` must be what the container runs."""
    try:
        with open(DEPLOYED_FILE) as f:
            deployed = {normalize(k): v for k, v in json.load(f).items()}
    except FileNotFoundError:
        deployed = {}
    bad = 0
    for item in [i for i in expected.split(',') if i.strip()]:
        pkg, _, ver = item.partition('=')
        actual = deployed.get(normalize(pkg.strip()))
        if actual != ver.strip():
            print('readback: %s expected %s, running %s' % (pkg.strip(), ver.strip(), actual), file=sys.stderr)
            bad += 1
        else:
            print('readback: %s==%s OK' % (pkg.strip(), actual))
    return 1 if bad else 0


if __name__ == '__main__':
    if len(sys.argv) in (3, 4) and sys.argv[1] == 'record-deployed':
        with open(sys.argv[2]) as f:
            write_json_atomic(DEPLOYED_FILE, parse_pins(f.read()))
        with open(CONTAINER_FILE, 'w') as f:
            f.write((sys.argv[3] if len(sys.argv) == 4 else 'omninode-runtime') + '\n')
        sys.exit(0)
    if len(sys.argv) >= 3 and sys.argv[1] == 'compose-check':
        sys.exit(compose_check(sys.argv[2:]))
    if len(sys.argv) == 3 and sys.argv[1] == 'readback':
        sys.exit(readback(sys.argv[2]))
    if len(sys.argv) == 3 and sys.argv[1] == 'fault-vars':
        print(fault_vars(sys.argv[2]))
        sys.exit(0)
    print('usage: standin_lib.py record-deployed <Dockerfile> [container] | compose-check <file>... | readback <pkg=ver,...> | fault-vars <fault.json>', file=sys.stderr)
    sys.exit(2)
