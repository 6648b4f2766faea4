#!/usr/bin/env python3
"""Sandbox stand-in for scripts/update-plugin-pins.py with the seed's contract.

  update-plugin-pins.py --versions "pkg=1.2.3,other=4.5" [--dockerfile PATH] [--dry-run]

Sets each requested package's pin in the Dockerfile to ==version (quotes kept,
comment lines untouched), prints "  pkg: from -> to" to stderr, and as the last
stdout line JSON {pkg: {from, to, matched}}. An unmatched package is reported
(matched: false, "NOT FOUND" on stderr) but does not change the exit code, so
the caller must check `matched` itself. Exit 2: bad arguments / no Dockerfile.
"""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, '@SANDBOX_ROOT@/lib')
import standin_lib as lib  # noqa: E402

lib.record('update-plugin-pins', sys.argv[1:])
lib.apply_fault('update-plugin-pins')

PIN_LINE = re.compile(
    r'^(?P<indent>\s*)(?P<q>["\']?)'
    r'(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(?P<extras>\[[^\]]*\])?'
    r'(?P<spec>(?:[<>=!~][^"\'\s\\]*)?)(?P=q)(?P<tail>\s*(?:\\)?\s*)$'
)


def parse_versions(raw):
    out = {}
    for part in raw.split(','):
        part = part.strip()
        if not part:
            continue
        name, sep, ver = part.partition('=')
        name, ver = name.strip(), ver.strip().lstrip('=')
        if not sep or not name or not ver:
            raise ValueError('invalid pkg=version pair: %r' % part)
        out[name] = ver
    if not out:
        raise ValueError('no versions given')
    return out


def main():
    ap = argparse.ArgumentParser(prog='update-plugin-pins.py')
    ap.add_argument('--versions', required=True)
    ap.add_argument('--dockerfile', default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', 'docker', 'Dockerfile.runtime'))
    ap.add_argument('--dry-run', action='store_true')
    args = ap.parse_args()
    try:
        versions = parse_versions(args.versions)
    except ValueError as e:
        print('ERROR: %s' % e, file=sys.stderr)
        return 2
    if not os.path.isfile(args.dockerfile):
        print('ERROR: Dockerfile not found: %s' % args.dockerfile, file=sys.stderr)
        return 2
    with open(args.dockerfile) as f:
        lines = f.read().splitlines(keepends=True)

    wanted = {lib.normalize(k): k for k in versions}
    result = {k: {'from': None, 'to': v, 'matched': False} for k, v in versions.items()}
    in_install = False  # inside a `pip install` instruction (incl. continuations)
    continued = False
    for i, line in enumerate(lines):
        body = line.rstrip('\r\n')
        if body.strip().startswith('#'):
            continue  # comments never end or change an instruction
        if not continued:
            in_install = bool(re.search(r'\bpip\s+install\b', body))
        elif in_install:
            m = PIN_LINE.match(body)
            key = wanted.get(lib.normalize(m.group('name'))) if m else None
            if key is not None:
                entry = result[key]
                if not entry['matched']:
                    entry['from'] = lib.spec_to_version(m.group('spec'))
                    entry['matched'] = True
                lines[i] = (m.group('indent') + m.group('q') + m.group('name') + (m.group('extras') or '')
                            + '==' + versions[key] + m.group('q') + m.group('tail') + line[len(body):])
        continued = body.rstrip().endswith('\\')

    for k, entry in result.items():
        if entry['matched']:
            print('  %s: %s -> %s' % (k, entry['from'], entry['to']), file=sys.stderr)
        else:
            print('  %s: NOT FOUND in %s' % (k, args.dockerfile), file=sys.stderr)
    if not args.dry_run:
        with open(args.dockerfile, 'w') as f:
            f.write(''.join(lines))
        lib.apply_fault_after_work('update-plugin-pins')
    matched = sum(1 for e in result.values() if e['matched'])
    print('%s %d of %d pin(s) in %s' % ('Would update' if args.dry_run else 'Updated',
                                        matched, len(result), args.dockerfile))
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
