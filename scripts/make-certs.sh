#!/usr/bin/env bash
# Makes the certificates kouryu's mutual TLS needs, with openssl: a CA, a
# server certificate for each service, client certificates for the roles of
# the example policy (deploy/kubernetes/components/tls/authz-policy.json),
# and a second, unrelated CA with a client certificate of its own (for
# checking that its certificates are refused).
#
#   scripts/make-certs.sh [options] OUT_DIR
#
# OUT_DIR/ca.crt, ca.key                    the CA (keep ca.key offline)
# OUT_DIR/kouryu-ingest/{tls.crt,tls.key,ca.crt}   server certificates, DNS
# OUT_DIR/kouryu-query/{tls.crt,tls.key,ca.crt}    SANs for the Services'
#                                           names in NAMESPACE, localhost and
#                                           IP SAN 127.0.0.1
# OUT_DIR/{writer,reader,replica,operator}/{tls.crt,tls.key,ca.crt}
#                                           clients, URI SAN
#                                           spiffe://TRUST_DOMAIN/ROLE and
#                                           subject CN=ROLE,O=kouryu
# OUT_DIR/other-ca/{ca.crt,ca.key,writer/...}   a second CA and a client
#
# Each directory is laid out as a kubernetes.io/tls Secret made by
# cert-manager (tls.crt, tls.key, ca.crt), so that
#   kubectl -n kouryu create secret generic kouryu-ingest-tls \
#     --from-file=OUT_DIR/kouryu-ingest
# makes the Secret the tls component mounts.
#
# One more certificate from an existing OUT_DIR/ca.key:
#   scripts/make-certs.sh --issue NAME [--server] [--cn CN] [--dns NAME]...
#                         [--ip ADDR]... [--uri URI]... OUT_DIR
#
# Options: --namespace NS (default kouryu), --cluster-domain D (default
# cluster.local), --trust-domain D (default kouryu.local), --days N
# (default 365). Keys are ECDSA P-256, unencrypted, mode 0600.
set -euo pipefail

namespace=kouryu
cluster_domain=cluster.local
trust_domain=kouryu.local
days=365
issue=""
server=0
cn=""
dns=()
ips=()
uris=()
out=""

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

while (($#)); do
  case "$1" in
    --namespace) namespace=$2; shift 2 ;;
    --cluster-domain) cluster_domain=$2; shift 2 ;;
    --trust-domain) trust_domain=$2; shift 2 ;;
    --days) days=$2; shift 2 ;;
    --issue) issue=$2; shift 2 ;;
    --server) server=1; shift ;;
    --cn) cn=$2; shift 2 ;;
    --dns) dns+=("$2"); shift 2 ;;
    --ip) ips+=("$2"); shift 2 ;;
    --uri) uris+=("$2"); shift 2 ;;
    -h|--help) usage ;;
    -*) echo "make-certs: unknown option $1" >&2; usage ;;
    *) [[ -z "$out" ]] || usage; out=$1; shift ;;
  esac
done
[[ -n "$out" ]] || usage
command -v openssl >/dev/null || { echo "make-certs: openssl is not installed" >&2; exit 1; }
umask 077

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# make_ca DIR CN
make_ca() {
  mkdir -p "$1"
  new_key "$1/ca.key"
  openssl req -x509 -new -key "$1/ca.key" -sha256 -days "$days" \
    -subj "/O=kouryu/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$1/ca.crt" 2>/dev/null
}

# make_cert CA_DIR NAME SERVER(0|1) CN SAN...  (SANs as DNS:x, IP:x, URI:x)
make_cert() {
  local ca=$1 name=$2 is_server=$3 common=$4
  shift 4
  local dir="$ca/$name" san
  san=$(IFS=,; echo "$*")
  mkdir -p "$dir"
  new_key "$dir/tls.key"
  local ext="$dir/.ext"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if ((is_server)); then echo "extendedKeyUsage=serverAuth"; else echo "extendedKeyUsage=clientAuth"; fi
    [[ -n "$san" ]] && echo "subjectAltName=$san"
  } >"$ext"
  openssl req -new -key "$dir/tls.key" -subj "/O=kouryu/CN=$common" -out "$dir/.csr" 2>/dev/null
  openssl x509 -req -in "$dir/.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -sha256 -days "$days" \
    -extfile "$ext" -out "$dir/tls.crt" 2>/dev/null
  rm -f "$dir/.csr" "$ext"
  cp "$ca/ca.crt" "$dir/ca.crt"
  chmod 0644 "$dir/tls.crt" "$dir/ca.crt"
}

# server_sans SERVICE: the names a Service (and its headless twin and pods)
# answers to, plus localhost.
server_sans() {
  local s=$1 ns=$namespace d=$cluster_domain
  echo "DNS:$s" "DNS:$s.$ns" "DNS:$s.$ns.svc" "DNS:$s.$ns.svc.$d" \
    "DNS:$s-headless.$ns.svc.$d" "DNS:*.$s-headless.$ns.svc.$d" \
    "DNS:localhost" "IP:127.0.0.1"
}

if [[ -n "$issue" ]]; then
  [[ -f "$out/ca.key" ]] || { echo "make-certs: no $out/ca.key to issue from" >&2; exit 1; }
  sans=()
  for d in "${dns[@]}"; do sans+=("DNS:$d"); done
  for i in "${ips[@]}"; do sans+=("IP:$i"); done
  for u in "${uris[@]}"; do sans+=("URI:$u"); done
  make_cert "$out" "$issue" "$server" "${cn:-$issue}" "${sans[@]}"
  echo "make-certs: $out/$issue"
  exit 0
fi

make_ca "$out" "kouryu CA"
for service in kouryu-ingest kouryu-query; do
  # shellcheck disable=SC2046
  make_cert "$out" "$service" 1 "$service" $(server_sans "$service")
done
for role in writer reader replica operator; do
  make_cert "$out" "$role" 0 "$role" "URI:spiffe://$trust_domain/$role"
done
make_ca "$out/other-ca" "another CA"
make_cert "$out/other-ca" writer 0 writer "URI:spiffe://$trust_domain/writer"
echo "make-certs: CA, kouryu-ingest, kouryu-query, writer, reader, replica, operator and other-ca/ in $out"
