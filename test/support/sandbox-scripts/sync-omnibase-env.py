#!/usr/bin/env python3
"""Sandbox stand-in for today's omnibase_infra scripts/sync-omnibase-env.py: forwards the env file's
non-bootstrap keys to Infisical (here: records the call). Flags: --env-file, --dry-run."""
import argparse
import os
import sys

sys.path.insert(0, '@SANDBOX_ROOT@/lib')
import standin_lib as lib  # noqa: E402


def main(argv):
    lib.record('sync-omnibase-env', argv)
    lib.apply_fault('sync-omnibase-env')
    parser = argparse.ArgumentParser()
    parser.add_argument('--env-file', default=os.path.join(os.path.expanduser('~'), '.omnibase', '.env'))
    parser.add_argument('--dry-run', action='store_true')
    args = parser.parse_args(argv)
    if not os.environ.get('INFISICAL_ADDR'):
        print('INFISICAL_ADDR not set; skipping')
        return 0
    if not os.path.isfile(args.env_file):
        print('env file not found: %s' % args.env_file, file=sys.stderr)
        return 1
    print('[sync-omnibase-env] Synced %s to Infisical' % args.env_file)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
