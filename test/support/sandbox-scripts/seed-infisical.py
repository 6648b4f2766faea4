#!/usr/bin/env python3
"""Sandbox stand-in for scripts/seed-infisical.py (contract: CONTRACTS.md, INFISICAL).

  seed-infisical.py --contracts-dir DIR [--execute]

Exits 1 when INFISICAL_PROJECT_ID is unset, like the real script.
"""
import argparse
import os
import sys

sys.path.insert(0, '@SANDBOX_ROOT@/lib')
import standin_lib as lib  # noqa: E402

lib.record('seed-infisical', sys.argv[1:])
lib.apply_fault('seed-infisical')


def main():
    ap = argparse.ArgumentParser(prog='seed-infisical.py')
    ap.add_argument('--contracts-dir', required=True)
    ap.add_argument('--execute', action='store_true')
    args = ap.parse_args()
    if not os.environ.get('INFISICAL_PROJECT_ID'):
        print('ERROR: INFISICAL_PROJECT_ID is not set; cannot seed Infisical.', file=sys.stderr)
        return 1
    if not os.path.isdir(args.contracts_dir):
        print('ERROR: contracts dir not found: %s' % args.contracts_dir, file=sys.stderr)
        return 1
    contracts = 0
    for _dir, _subdirs, files in os.walk(args.contracts_dir):
        contracts += sum(1 for f in files if f.endswith(('.yaml', '.yml')))
    print('Seeding Infisical from contracts...')
    print('  contracts dir: %s (%d contract file(s))' % (args.contracts_dir, contracts))
    print('--- Seed Diff Summary ---')
    print('  /shared/db/POSTGRES_DSN: OK (unchanged)')
    print('  /shared/kafka/KAFKA_BOOTSTRAP_SERVERS: OK (unchanged)')
    print('  /services/omninode-runtime/RUNTIME_CONFIG: OK (%s)' % ('updated' if args.execute else 'would update'))
    print('--- End Diff Summary ---')
    if not args.execute:
        print('seed-infisical.py: dry run (pass --execute to write)')
        return 0
    print('seed-infisical.py: complete')
    return 0


if __name__ == '__main__':
    sys.exit(main())
