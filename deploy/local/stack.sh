#!/usr/bin/env bash
# Local single-node stack on 127.0.0.1 without Docker: Kafka (KRaft), Elasticsearch, Prometheus.
#
#   deploy/local/stack.sh {install|start|stop|status} [kafka|elasticsearch|elasticsearch-secure|prometheus|all]
#   deploy/local/stack.sh {start|stop|status} --cluster [kafka-1|kafka-2|kafka-3|es-1|es-2|all]
#
# elasticsearch-secure (HTTPS and authentication on 9201) is optional: "all" includes it only when
# NEWSWIRE_SECURE_ES=1. --cluster is the cluster mode: three KRaft brokers (19092, 19192, 19292) and a
# two-node Elasticsearch (19200, 19201) with data of their own, beside the single stack.
#
# Everything comes from package registries (Maven Central, Debian). Runtime data lives in
# $NEWSWIRE_VAR (default <repo>/var), downloads in $NEWSWIRE_CACHE (default <repo>/.cache).
# See docs/stack.md for ports, paths, measurements and the Elasticsearch distribution's limits.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEPLOY="$REPO/deploy/local"
VAR="${NEWSWIRE_VAR:-$REPO/var}"
CACHE="${NEWSWIRE_CACHE:-$REPO/.cache}"
PYTHON="${NEWSWIRE_PYTHON:-$REPO/.venv/bin/python}"
JAVA_HOME="${NEWSWIRE_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}"
START_TIMEOUT="${NEWSWIRE_START_TIMEOUT:-180}"
STOP_TIMEOUT="${NEWSWIRE_STOP_TIMEOUT:-30}"

ES_VERSION=8.19.21
ES_USER=newswire-es
ES_HOME="$CACHE/elasticsearch-$ES_VERSION"
# The secured node's home: hard links to ES_HOME, with a plugins folder of its own (see install_elasticsearch-secure).
ES_SECURE_HOME="$CACHE/elasticsearch-$ES_VERSION-secure"
KAFKA_LIBS="$CACHE/kafka-libs"
KAFKA_CLUSTER_ID=bmV3c3dpcmUtbG9jYWwtMQ # base64url("newswire-local-1"): same id on every machine
M2_REPO="$CACHE/m2"

SERVICES=(kafka elasticsearch prometheus)
# Cluster mode: its own ports (the single stack's plus 10000, and +100 per broker), data folders and cluster ids.
CLUSTER_KAFKA=(cluster-kafka-1 cluster-kafka-2 cluster-kafka-3)
CLUSTER_ES=(cluster-es-1 cluster-es-2)
CLUSTER_KAFKA_ID=bmV3c3dpcmUtY2x1c3Rlcg # base64url("newswire-cluster")
CLUSTER_VOTERS=1@127.0.0.1:19093,2@127.0.0.1:19193,3@127.0.0.1:19293
CLUSTER_ES_SEEDS=127.0.0.1:19300,127.0.0.1:19301
KAFKA_JAVA=("$JAVA_HOME/bin/java" -cp "$KAFKA_LIBS/*" "-Dlog4j2.configurationFile=$DEPLOY/kafka/log4j2.properties")
# The secured Elasticsearch: its file-realm user, and a smaller heap (it only serves the security tests).
ES_SECURE_LOGIN=newswire
ES_SECURE_HEAP=256m
# Client port first; Kafka's controller and Elasticsearch's transport port must be free too.
declare -A PORTS=([kafka]="9092 9093 9094" [elasticsearch]="9200 9300" [elasticsearch-secure]="9201 9301" [prometheus]="9090"
  [cluster-kafka-1]="19092 19093" [cluster-kafka-2]="19192 19193" [cluster-kafka-3]="19292 19293"
  [cluster-es-1]="19200 19300" [cluster-es-2]="19201 19301")
# A path on each service's command line that is this checkout's: a recycled pid, or the same
# service of another checkout, is never taken for ours.
declare -A CMD_MARK=([kafka]="$VAR/kafka/server.properties" [elasticsearch]="$VAR/elasticsearch/tmp"
  [elasticsearch-secure]="$VAR/elasticsearch-secure/tmp" [prometheus]="$VAR/prometheus/data"
  [cluster-kafka-1]="$VAR/cluster-kafka-1/server.properties" [cluster-kafka-2]="$VAR/cluster-kafka-2/server.properties"
  [cluster-kafka-3]="$VAR/cluster-kafka-3/server.properties" [cluster-es-1]="$VAR/cluster-es-1/tmp"
  [cluster-es-2]="$VAR/cluster-es-2/tmp")

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- pid files and processes

pid_file() {
  case "$1" in
    elasticsearch | elasticsearch-secure | cluster-es-*) echo "$VAR/$1/run/elasticsearch.pid" ;; # written by ES as $ES_USER
    *) echo "$VAR/run/$1.pid" ;;
  esac
}

# Prints the pid of our running instance of service $1, or fails.
running_pid() {
  local file pid
  file="$(pid_file "$1")"
  [[ -s "$file" ]] || return 1
  pid="$(tr -dc 0-9 <"$file")"
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "${CMD_MARK[$1]}" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

rss_mib() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null; }

# Fails with who holds a port when something that is not ours already listens there.
ensure_ports_free() {
  local service="$1" port holder
  for port in ${PORTS[$service]}; do
    port_open "$port" || continue
    holder=""
    command -v ss >/dev/null && holder="$(ss -ltnpH "sport = :$port" 2>/dev/null || true)"
    die "$service: port $port on 127.0.0.1 is already in use by another process: ${holder:-unknown (install iproute2 for details)}"
  done
}

# The last lines of each log, then its last errors (a JVM's cause is often further up).
show_log_tail() {
  local file
  for file in "$@"; do
    [[ -s "$file" ]] || continue
    printf '[stack] ---- last lines of %s ----\n' "$file" >&2
    tail -n 30 "$file" >&2
    printf '[stack] ---- last errors in %s ----\n' "$file" >&2
    grep -E 'ERROR|FATAL|Exception|error:' "$file" | tail -n 10 >&2 || true
  done
}

# Waits until command "$2..." succeeds; on timeout shows the logs of service $1 and fails.
# Reports the time since LAUNCHED_AT (set by start_service).
wait_ready() {
  local service="$1"; shift
  local deadline pid
  deadline=$((SECONDS + START_TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if ! pid="$(running_pid "$service")"; then
      show_service_logs "$service"
      die "$service exited during start-up (see the log above)"
    fi
    if ((SECONDS >= deadline)); then
      show_service_logs "$service"
      die "$service (pid $pid) not ready after ${START_TIMEOUT}s (NEWSWIRE_START_TIMEOUT); it is left running, stop it with: $0 stop $service"
    fi
    sleep 0.5
  done
  log "$service ready in $(elapsed "$LAUNCHED_AT")s: pid $(running_pid "$service"), port ${PORTS[$service]// /,}, RSS $(rss_mib "$(running_pid "$service")") MiB"
}

log_files() {
  case "$1" in
    elasticsearch) printf '%s\n' "$VAR/log/elasticsearch.log" "$VAR/elasticsearch/logs/newswire-local.log" ;;
    elasticsearch-secure) printf '%s\n' "$VAR/log/elasticsearch-secure.log" "$VAR/elasticsearch-secure/logs/newswire-local-secure.log" ;;
    cluster-es-*) printf '%s\n' "$VAR/log/$1.log" "$VAR/$1/logs/newswire-local-cluster.log" ;;
    *) printf '%s\n' "$VAR/log/$1.log" ;;
  esac
}

show_service_logs() {
  local files
  mapfile -t files < <(log_files "$1")
  show_log_tail "${files[@]}"
}

# Starts "$@" in its own session, detached from this shell, logging to var/log/$service.log.
launch() {
  local service="$1"; shift
  mkdir -p "$VAR/run" "$VAR/log"
  # 9>&-: the service must not inherit (and so hold) the lock of this script.
  setsid "$@" >>"$VAR/log/$service.log" 2>&1 </dev/null 9>&- &
  echo $! >"$(pid_file "$service")"
}

# ---------------------------------------------------------------- installs

# Installs the Debian packages that are missing; apt-get update only when needed.
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  [[ $EUID -eq 0 ]] || die "missing Debian packages ${missing[*]}: run as root or install them"
  log "apt-get install ${missing[*]}"
  # Keep packages (prometheus) from starting their system service: this script runs its own.
  local own_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  local rc=0 apt_log="$VAR/log/apt.log"
  mkdir -p "$VAR/log"
  {
    apt-cache show "${missing[@]}" >/dev/null 2>&1 || apt-get update -q
    apt_get_install "${missing[@]}" || { apt-get update -q && apt_get_install "${missing[@]}"; }
  } >>"$apt_log" 2>&1 || rc=$?
  [[ -z "$own_policy" ]] || rm -f /usr/sbin/policy-rc.d
  ((rc == 0)) || { show_log_tail "$apt_log"; die "apt-get install ${missing[*]} failed"; }
}

apt_get_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" </dev/null
}

require_jdk() {
  [[ -x "$JAVA_HOME/bin/javac" ]] && return 0
  [[ "$JAVA_HOME" == /usr/lib/jvm/java-17-openjdk-amd64 ]] || die "no JDK at NEWSWIRE_JAVA_HOME=$JAVA_HOME"
  apt_install openjdk-17-jdk-headless
}

# Maven into var/log/maven.log (Debian's Maven 3.8 prints colour codes even in batch mode).
mvn_quiet() {
  local mvn_log="$VAR/log/maven.log"
  JAVA_HOME="$JAVA_HOME" mvn -q -B -Dmaven.repo.local="$M2_REPO" "$@" >>"$mvn_log" 2>&1 </dev/null ||
    { show_log_tail "$mvn_log"; die "mvn $* failed"; }
}

install_kafka() {
  require_jdk
  apt_install maven kcat
  local stamp="$KAFKA_LIBS/.pom.sha256" want
  want="$(sha256sum "$DEPLOY/kafka/pom.xml" | cut -d' ' -f1)"
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && return 0
  log "kafka: resolving jars from Maven Central into $KAFKA_LIBS"
  local started; started="$(now)"
  rm -rf "$KAFKA_LIBS"
  (cd "$DEPLOY/kafka" && mvn_quiet org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies -DoutputDirectory="$KAFKA_LIBS")
  echo "$want" >"$stamp"
  log "kafka: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in $(elapsed "$started")s"
}

install_elasticsearch() {
  require_jdk
  apt_install maven unzip curl
  if [[ ! -x "$ES_HOME/bin/elasticsearch" ]]; then
    local started; started="$(now)"
    log "elasticsearch: fetching integ-test-zip $ES_VERSION from Maven Central"
    mvn_quiet org.apache.maven.plugins:maven-dependency-plugin:3.6.1:get -Dtransitive=false \
      -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
    rm -rf "$ES_HOME.partial" && mkdir -p "$ES_HOME.partial"
    unzip -q "$M2_REPO/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$ES_VERSION/elasticsearch-$ES_VERSION.zip" \
      -d "$ES_HOME.partial"
    rm -rf "$ES_HOME" && mv "$ES_HOME.partial/elasticsearch-$ES_VERSION" "$ES_HOME" && rmdir "$ES_HOME.partial"
    log "elasticsearch: unpacked into $ES_HOME in $(elapsed "$started")s"
  fi
  install_es_plugin
  if [[ $EUID -eq 0 ]] && ! id -u "$ES_USER" >/dev/null 2>&1; then
    log "elasticsearch: creating system user $ES_USER (Elasticsearch refuses to run as root)"
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$ES_USER"
  fi
}

# The normal node's install plus a home of its own: the security plugin's .security index (where API keys
# live) needs analysis components of the missing analysis-common module, which the newswire-security-index
# plugin adds for this node only. Hard links cost no space; openssl makes the certificates.
install_elasticsearch-secure() {
  install_elasticsearch
  command -v openssl >/dev/null || apt_install openssl
  if [[ ! -x "$ES_SECURE_HOME/bin/elasticsearch" ]]; then
    rm -rf "$ES_SECURE_HOME.partial"
    cp -al "$ES_HOME" "$ES_SECURE_HOME.partial" && rm -rf "$ES_SECURE_HOME.partial/plugins"/*
    mv "$ES_SECURE_HOME.partial" "$ES_SECURE_HOME"
  fi
  if ! cmp -s "$ES_HOME/plugins/newswire-local/.sources.sha256" "$ES_SECURE_HOME/plugins/newswire-local/.sources.sha256"; then
    rm -rf "$ES_SECURE_HOME/plugins/newswire-local"
    cp -a "$ES_HOME/plugins/newswire-local" "$ES_SECURE_HOME/plugins/"
  fi
  build_es_plugin newswire-security-index "$DEPLOY/elasticsearch-secure/plugin" "$ES_SECURE_HOME/plugins"
}

# Builds deploy/local/elasticsearch/plugin (language analyzers, ukrainian with its bundled jars, GET /)
# against the exact server jars; rebuilt whenever its sources or jars.txt change.
install_es_plugin() {
  build_es_plugin newswire-local "$DEPLOY/elasticsearch/plugin" "$ES_HOME/plugins"
}

# Builds plugin $1 from the sources in $2 into the plugins folder $3, unless they are unchanged. The jars
# named in $2/jars.txt (groupId:artifactId:version, pinned) come from Maven Central into the plugin folder.
build_es_plugin() {
  local name="$1" src="$2" dest="$3/$1" want artifact
  want="$(cd "$src" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
  [[ -f "$dest/.sources.sha256" && "$(cat "$dest/.sources.sha256")" == "$want" ]] && return 0
  log "elasticsearch: building plugin $name"
  local build; build="$(mktemp -d)"
  mkdir -p "$build/lib"
  if [[ -f "$src/jars.txt" ]]; then
    while read -r artifact; do
      [[ -z "$artifact" || "$artifact" == '#'* ]] && continue
      mvn_quiet org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy -Dartifact="$artifact" -DoutputDirectory="$build/lib"
    done <"$src/jars.txt"
  fi
  find "$src/src" -name '*.java' -print0 | xargs -0 "$JAVA_HOME/bin/javac" --release 17 -nowarn \
    -cp "$ES_HOME/lib/*:$build/lib/*" -d "$build/classes"
  rm -rf "$dest" && mkdir -p "$dest"
  "$JAVA_HOME/bin/jar" cf "$dest/$name.jar" -C "$build/classes" .
  cp -a "$build/lib/." "$dest/"
  sed "s/@ES_VERSION@/$ES_VERSION/" "$src/plugin-descriptor.properties" >"$dest/plugin-descriptor.properties"
  rm -rf "$build"
  echo "$want" >"$dest/.sources.sha256"
}

install_prometheus() {
  apt_install prometheus curl
  # The package enables its unit for the next boot; this stack never relies on it.
  if command -v systemctl >/dev/null && systemctl is-enabled --quiet prometheus 2>/dev/null; then
    systemctl disable prometheus >/dev/null 2>&1 || true
  fi
  stop_system_prometheus
}

# The Debian package may have started its own service on :9090 (where policy-rc.d allowed it);
# it runs as the package's user "prometheus", ours as the caller.
stop_system_prometheus() {
  if pgrep -u prometheus -x prometheus >/dev/null 2>&1; then
    log "prometheus: stopping the Debian system service; this script runs its own"
    if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
      systemctl stop prometheus || true
      systemctl disable prometheus >/dev/null 2>&1 || true
    else
      service prometheus stop >/dev/null 2>&1 || true
    fi
  fi
}

# ---------------------------------------------------------------- start

# A local CA (DIR/ca.pem, ca.key) and a certificate for 127.0.0.1 signed by it (DIR/NAME.pem, NAME.key): the TLS
# material of the Kafka SASL_SSL listener and of the secured Elasticsearch node, made once per var/ folder.
local_ca_and_cert() {
  local dir="$1" name="$2" ca_name="$3"
  command -v openssl >/dev/null || apt_install openssl
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$ca_name" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$dir/san.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 3650 \
    -extfile "$dir/san.ext" -out "$dir/$name.pem" 2>/dev/null
  chmod 600 "$dir/ca.key" "$dir/$name.key"
}

# The SASL_SSL listener (127.0.0.1:9094); clients verify the broker with $VAR/kafka/tls/ca.pem.
kafka_tls() {
  local tls="$VAR/kafka/tls"
  [[ -s "$tls/broker-keystore.pem" ]] && return 0
  local_ca_and_cert "$tls" broker "newswire local CA"
  # Kafka's PEM key store: an unencrypted PKCS#8 key followed by the certificate chain.
  { openssl pkcs8 -topk8 -nocrypt -in "$tls/broker.key"; cat "$tls/broker.pem" "$tls/ca.pem"; } >"$tls/broker-keystore.pem"
  chmod 600 "$tls/broker-keystore.pem"
}

start_kafka() {
  local dir="$VAR/kafka"
  mkdir -p "$dir/data"
  kafka_tls
  sed -e "s#@DATA_DIR@#$dir/data#" -e "s#@TLS_DIR@#$dir/tls#" "$DEPLOY/kafka/server.properties" >"$dir/server.properties"
  # Static quorum (controller.quorum.voters), so no --standalone; a formatted dir is kept as is.
  if [[ ! -f "$dir/data/meta.properties" ]]; then
    "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format --cluster-id "$KAFKA_CLUSTER_ID" \
      --config "$dir/server.properties" --ignore-formatted >>"$VAR/log/kafka.log" 2>&1 9>&- ||
      { show_log_tail "$VAR/log/kafka.log"; die "kafka: storage format failed"; }
  fi
  launch kafka "${KAFKA_JAVA[@]}" -Xms512m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    kafka.Kafka "$dir/server.properties"
  wait_ready kafka kafka_metadata_ok
}

# A metadata request answered by the broker on port $1 (default 9092).
kafka_metadata_ok() {
  local port="${1:-9092}"
  if [[ -x "$PYTHON" ]]; then
    "$PYTHON" -c 'import sys
from confluent_kafka.admin import AdminClient
AdminClient({"bootstrap.servers": "127.0.0.1:" + sys.argv[1]}).list_topics(timeout=2)' "$port" 2>/dev/null
  else
    kcat -b "127.0.0.1:$port" -L -m 2 >/dev/null 2>&1
  fi
}

# Renders the config of Elasticsearch node $1 into $VAR/$1/config from the distribution's files,
# deploy/local/$2/elasticsearch.yml and the shared deploy/local/elasticsearch/jvm.options; "$3..." are
# further sed expressions for elasticsearch.yml.
render_es_config() {
  local dir="$VAR/$1" template="$DEPLOY/$2/elasticsearch.yml"; shift 2
  local extra=()
  for expression in "$@"; do extra+=(-e "$expression"); done
  mkdir -p "$dir/config" "$dir/data" "$dir/logs" "$dir/tmp" "$dir/run"
  # The distribution's config (log4j2.properties, role files); ours replaces two files.
  cp -rn "$ES_HOME/config/." "$dir/config/"
  sed -e "s#@VAR_DIR@#$dir#g" "${extra[@]}" "$template" >"$dir/config/elasticsearch.yml"
  sed "s#@VAR_DIR@#$dir#g" "$DEPLOY/elasticsearch/jvm.options" >"$dir/config/jvm.options"
}

# Starts Elasticsearch node $1 from home $2 (config rendered in $VAR/$1/config) as $ES_USER when run as
# root; "$3..." are extra environment assignments. Returns once the node has started, or fails with its log.
launch_es_node() {
  local service="$1" home="$2" dir="$VAR/$1"; shift 2
  rm -f "$(pid_file "$service")"
  local as_user=()
  if [[ $EUID -eq 0 ]]; then
    chown "$ES_USER:" "$dir"
    chown -R "$ES_USER:" "$dir/config" "$dir/data" "$dir/logs" "$dir/tmp" "$dir/run"
    runuser -u "$ES_USER" -- test -r "$home/lib" -a -x "$dir" ||
      die "$service: user $ES_USER cannot read $home or reach $dir: a parent directory is closed to other users; open it (chmod o+x) or point NEWSWIRE_CACHE and NEWSWIRE_VAR elsewhere"
    as_user=(runuser -u "$ES_USER" --)
  fi
  # -d returns once the node has started (or failed); the server writes its own pid file.
  local rc=0
  setsid "${as_user[@]}" env ES_JAVA_HOME="$JAVA_HOME" ES_PATH_CONF="$dir/config" ES_TMPDIR="$dir/tmp" "$@" \
    timeout "$START_TIMEOUT" "$home/bin/elasticsearch" -d -p "$(pid_file "$service")" \
    >>"$VAR/log/$service.log" 2>&1 </dev/null 9>&- || rc=$?
  if ((rc != 0)) && ! running_pid "$service" >/dev/null; then
    show_service_logs "$service"
    ((rc == 124)) && die "$service did not start within ${START_TIMEOUT}s (NEWSWIRE_START_TIMEOUT)"
    die "$service failed to start (exit $rc)"
  fi
}

start_elasticsearch() {
  render_es_config elasticsearch elasticsearch
  launch_es_node elasticsearch "$ES_HOME"
  wait_ready elasticsearch curl -sf --max-time 5 \
    'http://127.0.0.1:9200/_cluster/health?wait_for_status=yellow&timeout=4s'
}

# A local CA and a node certificate for the secured node's HTTPS, made once per var/ folder.
# Clients verify the node with $VAR/elasticsearch-secure/tls/ca.pem.
es_secure_tls() {
  local tls="$VAR/elasticsearch-secure/tls"
  [[ -s "$tls/node.pem" ]] || local_ca_and_cert "$tls" node "newswire local Elasticsearch CA"
  # Elasticsearch reads key material only from inside its config folder.
  mkdir -p "$VAR/elasticsearch-secure/config/tls"
  cp "$tls/node.key" "$tls/node.pem" "$tls/ca.pem" "$VAR/elasticsearch-secure/config/tls/"
}

# The file-realm superuser $ES_SECURE_LOGIN with a generated password in $VAR/elasticsearch-secure/password
# (mode 600); (re)set whenever the password file is new.
es_secure_user() {
  local dir="$VAR/elasticsearch-secure" fresh="" users_args
  if [[ ! -s "$dir/password" ]]; then
    (umask 077 && openssl rand -hex 16 >"$dir/password")
    fresh=1
  fi
  if grep -q "^$ES_SECURE_LOGIN:" "$dir/config/users" 2>/dev/null; then
    [[ -n "$fresh" ]] || return 0
    users_args=(passwd "$ES_SECURE_LOGIN")
  else
    users_args=(useradd "$ES_SECURE_LOGIN" -r superuser)
  fi
  # The password goes in on stdin (asked twice), never on a command line that ps shows to everyone.
  local pw; pw="$(cat "$dir/password")"
  printf '%s\n%s\n' "$pw" "$pw" | ES_JAVA_HOME="$JAVA_HOME" ES_PATH_CONF="$dir/config" \
    "$ES_SECURE_HOME/bin/elasticsearch-users" "${users_args[@]}" >>"$VAR/log/elasticsearch-secure.log" 2>&1 9>&- ||
    { show_log_tail "$VAR/log/elasticsearch-secure.log"; die "elasticsearch-secure: elasticsearch-users ${users_args[*]} failed"; }
}

start_elasticsearch-secure() {
  render_es_config elasticsearch-secure elasticsearch-secure
  es_secure_tls
  es_secure_user
  # ES_JAVA_OPTS comes after jvm.options, so this heap replaces the shared 512 MiB.
  launch_es_node elasticsearch-secure "$ES_SECURE_HOME" ES_JAVA_OPTS="-Xms$ES_SECURE_HEAP -Xmx$ES_SECURE_HEAP"
  wait_ready elasticsearch-secure es_secure_health
}

# An authenticated HTTPS health request; the credentials go to curl on stdin, not its command line.
es_secure_health() {
  local dir="$VAR/elasticsearch-secure"
  curl -sf --max-time 5 --cacert "$dir/tls/ca.pem" -K - \
    'https://127.0.0.1:9201/_cluster/health?wait_for_status=yellow&timeout=4s' \
    <<<"user = \"$ES_SECURE_LOGIN:$(cat "$dir/password")\""
}

# ---------------------------------------------------------------- cluster mode

# The number of cluster node $1 (cluster-kafka-2 -> 2), and its client port.
node_number() { echo "${1##*-}"; }
client_port() { local ports=(${PORTS[$1]}); echo "${ports[0]}"; }

# Renders cluster broker $1's config and formats its storage once.
prepare_cluster_kafka() {
  local service="$1" dir="$VAR/$1" ports=(${PORTS[$1]})
  mkdir -p "$dir/data"
  sed -e "s#@NODE_ID@#$(node_number "$service")#" -e "s#@BROKER_PORT@#${ports[0]}#" -e "s#@CONTROLLER_PORT@#${ports[1]}#" \
    -e "s#@VOTERS@#$CLUSTER_VOTERS#" -e "s#@DATA_DIR@#$dir/data#" "$DEPLOY/cluster/kafka.properties" >"$dir/server.properties"
  if [[ ! -f "$dir/data/meta.properties" ]]; then
    "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format --cluster-id "$CLUSTER_KAFKA_ID" \
      --config "$dir/server.properties" --ignore-formatted >>"$VAR/log/$service.log" 2>&1 9>&- ||
      { show_log_tail "$VAR/log/$service.log"; die "$service: storage format failed"; }
  fi
}

# Starts the cluster brokers "$@" that are not running. All are launched before any is waited for: a broker
# answers only once a majority of the three controllers is up.
start_cluster_kafka() {
  local service launched=()
  install_kafka
  LAUNCHED_AT="$(now)"
  for service in "$@"; do
    if running_pid "$service" >/dev/null; then log "$service already running (pid $(running_pid "$service"))"; continue; fi
    ensure_ports_free "$service"
    prepare_cluster_kafka "$service"
    log "$service: starting"
    launch "$service" "${KAFKA_JAVA[@]}" -Xms512m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true kafka.Kafka "$VAR/$service/server.properties"
    launched+=("$service")
  done
  for service in "${launched[@]}"; do wait_ready "$service" kafka_metadata_ok "$(client_port "$service")"; done
}

# Starts cluster Elasticsearch node $1; ready once it answers with a master elected and the cluster yellow.
start_cluster_es() {
  local service="$1" ports=(${PORTS[$1]})
  if running_pid "$service" >/dev/null; then log "$service already running (pid $(running_pid "$service"))"; return 0; fi
  install_elasticsearch
  ensure_ports_free "$service"
  log "$service: starting"
  LAUNCHED_AT="$(now)"
  render_es_config "$service" cluster "s#@NODE_NAME@#$service#" "s#@HTTP_PORT@#${ports[0]}#" \
    "s#@TRANSPORT_PORT@#${ports[1]}#" "s#@SEED_HOSTS@#$CLUSTER_ES_SEEDS#"
  launch_es_node "$service" "$ES_HOME"
  wait_ready "$service" curl -sf --max-time 5 "http://127.0.0.1:${ports[0]}/_cluster/health?wait_for_status=yellow&timeout=4s"
}

# The cluster's shape beyond each process: brokers in the quorum, under-replicated partitions, engine health.
status_cluster_summary() {
  local health
  health="$(curl -sf --max-time 3 'http://127.0.0.1:19200/_cluster/health' 2>/dev/null ||
    curl -sf --max-time 3 'http://127.0.0.1:19201/_cluster/health' 2>/dev/null || true)"
  if [[ -n "$health" ]]; then
    printf 'elasticsearch cluster %s\n' "$(tr -d '{}"' <<<"$health" | tr ',' '\n' | grep -E '^(status|number_of_nodes|unassigned_shards):' | tr '\n' ' ')"
  else
    printf 'elasticsearch cluster unreachable\n'
  fi
  [[ -x "$PYTHON" ]] || return 0
  "$PYTHON" - <<'PY' 2>/dev/null || printf 'kafka cluster unreachable\n'
from confluent_kafka.admin import AdminClient
metadata = AdminClient({"bootstrap.servers": "127.0.0.1:19092,127.0.0.1:19192,127.0.0.1:19292"}).list_topics(timeout=3)
partitions = [p for t in metadata.topics.values() for p in t.partitions.values()]
under = sum(len(p.isrs) < len(p.replicas) for p in partitions)
print(f"kafka cluster brokers {sorted(metadata.brokers)} partitions {len(partitions)} under-replicated {under}")
PY
}

start_prometheus() {
  stop_system_prometheus
  mkdir -p "$VAR/prometheus/data"
  launch prometheus prometheus --config.file="$DEPLOY/prometheus/prometheus.yml" \
    --storage.tsdb.path="$VAR/prometheus/data" --storage.tsdb.retention.time=2d \
    --web.listen-address=127.0.0.1:9090 --web.enable-lifecycle
  wait_ready prometheus curl -sf --max-time 2 http://127.0.0.1:9090/-/ready
}

start_service() {
  local service="$1" pid
  if pid="$(running_pid "$service")"; then
    log "$service already running (pid $pid)"
    return 0
  fi
  "install_$service"
  ensure_ports_free "$service"
  log "$service: starting"
  LAUNCHED_AT="$(now)"
  "start_$service"
}

# ---------------------------------------------------------------- stop and status

stop_service() {
  local service="$1" pid
  if ! pid="$(running_pid "$service")"; then
    log "$service not running"
    rm -f "$(pid_file "$service")"
    return 0
  fi
  log "$service: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while [[ -e "/proc/$pid" ]] && ((SECONDS < deadline)); do sleep 0.5; done
  if [[ -e "/proc/$pid" ]]; then
    log "$service: still running after ${STOP_TIMEOUT}s, killing pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
    while [[ -e "/proc/$pid" ]]; do sleep 0.2; done
  fi
  rm -f "$(pid_file "$service")"
  log "$service stopped"
}

status_service() {
  local service="$1" pid
  if pid="$(running_pid "$service")"; then
    printf '%-20s running  pid %-8s port %-10s rss %s MiB\n' "$service" "$pid" "${PORTS[$service]// /,}" "$(rss_mib "$pid")"
  else
    printf '%-20s stopped  pid %-8s port %-10s rss -\n' "$service" - "${PORTS[$service]// /,}"
  fi
}

# ---------------------------------------------------------------- main

# Cluster services "$@": the brokers together (see start_cluster_kafka), then the engine nodes in order (the
# first bootstraps the engine cluster).
start_cluster() {
  local service brokers=()
  for service in "$@"; do [[ "$service" == cluster-kafka-* ]] && brokers+=("$service"); done
  ((${#brokers[@]} == 0)) || start_cluster_kafka "${brokers[@]}"
  for service in "$@"; do [[ "$service" == cluster-es-* ]] && start_cluster_es "$service"; done
  return 0
}

# Cluster services "$@": the engine nodes one by one, then the brokers all at once. Stopped one after another,
# the last broker loses the controller quorum and cannot finish its controlled shutdown (it waits for SIGKILL).
stop_cluster() {
  local service
  for service in "$@"; do [[ "$service" == cluster-es-* ]] && stop_service "$service"; done
  for service in "$@"; do [[ "$service" == cluster-kafka-* ]] && stop_service "$service" & done
  wait
}

usage() {
  echo "usage: $0 {install|start|stop|status} [kafka|elasticsearch|elasticsearch-secure|prometheus|all]" >&2
  echo "       $0 {start|stop|status} --cluster [kafka-1|kafka-2|kafka-3|es-1|es-2|all]" >&2
  echo "  all: kafka, elasticsearch, prometheus; with NEWSWIRE_SECURE_ES=1 (or, for stop, when it runs) also elasticsearch-secure" >&2
  exit 2
}

main() {
  (($# >= 1 && $# <= 3)) || usage
  local action="$1" cluster="" services=()
  shift
  if [[ "${1:-}" == --cluster ]]; then cluster=1; shift; fi
  (($# <= 1)) || usage
  local target="${1:-all}"
  if [[ -n "$cluster" ]]; then
    [[ "$action" != install ]] || usage  # the cluster runs from the single stack's install
    case "$target" in
      all) services=("${CLUSTER_KAFKA[@]}" "${CLUSTER_ES[@]}") ;;
      kafka-[123] | es-[12]) services=("cluster-$target") ;;
      *) usage ;;
    esac
  else case "$target" in
    all)
      services=("${SERVICES[@]}")
      # The secured node is for the security tests only: kept out of normal starts unless asked for,
      # but a plain `stop` also stops it when it runs, so nothing is left behind.
      if [[ "${NEWSWIRE_SECURE_ES:-}" == 1 ]] || { [[ "$action" == stop ]] && running_pid elasticsearch-secure >/dev/null; }; then
        services+=(elasticsearch-secure)
      fi
      ;;
    kafka | elasticsearch | elasticsearch-secure | prometheus) services=("$target") ;;
    *) usage ;;
  esac
  fi
  mkdir -p "$VAR/run" "$VAR/log" "$CACHE"
  # One stack.sh at a time per checkout (two engineers starting the stack at once).
  exec 9>"$VAR/run/stack.lock"
  flock -w 600 9 || die "another stack.sh holds $VAR/run/stack.lock"
  local service
  case "$action" in
    install) for service in "${services[@]}"; do "install_$service"; done ;;
    start) if [[ -n "$cluster" ]]; then start_cluster "${services[@]}"; else
      for service in "${services[@]}"; do start_service "$service"; done; fi ;;
    stop) if [[ -n "$cluster" ]]; then stop_cluster "${services[@]}"; else
      for ((i = ${#services[@]} - 1; i >= 0; i--)); do stop_service "${services[i]}"; done; fi ;;
    status) for service in "${services[@]}"; do status_service "$service"; done
      [[ -z "$cluster" ]] || status_cluster_summary ;;
    *) usage ;;
  esac
}

main "$@"
