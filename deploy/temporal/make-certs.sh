#!/bin/sh
# Makes a private CA and the certificates a redeploy Temporal cluster uses for mTLS, with openssl:
#   ca.pem / ca-key.pem          the CA (keep ca-key.pem offline; only ca.pem goes to nodes and clients)
#   node.pem / node-key.pem      every Temporal node: frontend server, internode server and client
#   client.pem / client-key.pem  CLI users and redeploy workers (TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH)
# Usage: make-certs.sh DIR [SAN…]   SANs for node.pem beyond temporal, localhost and 127.0.0.1,
#        e.g. DNS:temporal.example.internal IP:10.0.0.5 (what clients and nodes dial).
# Used by the cluster tests too (test/cluster/), so the tested certificates are made like these.
set -eu
dir=${1:?usage: make-certs.sh DIR [SAN…]}
shift
days=${CERT_DAYS:-825}
mkdir -p "$dir"
cd "$dir"
umask 077 # private keys readable by the owner only
sans="DNS:temporal,DNS:localhost,IP:127.0.0.1"
for san in "$@"; do sans="$sans,$san"; done

openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" -subj "/CN=redeploy Temporal CA" \
  -keyout ca-key.pem -out ca.pem \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null

issue() { # name CN extensions
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=$2" -keyout "$1-key.pem" -out "$1.csr" 2>/dev/null
  printf '%s\n' "$3" >"$1.ext"
  openssl x509 -req -sha256 -days "$days" -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
# Nodes are servers to clients and to each other, and clients of each other: both usages.
issue node temporal-node "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$sans"
issue client redeploy-client "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
rm -f ca.srl
chmod 644 ca.pem node.pem client.pem
echo "certificates in $(pwd): ca.pem node.pem node-key.pem client.pem client-key.pem (CA key: ca-key.pem)"
