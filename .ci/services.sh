#!/usr/bin/env bash
# Start/stop throwaway PostgreSQL and Redis servers on loopback, in a temporary folder.
# Dovecot (IMAP) is installed here too; the mailbox tests start their own instances on
# loopback (tests/dovecot.py), so `dovecot_check` only proves one starts on this machine.
# Usage: source .ci/services.sh; services_start DIR; ...; services_stop DIR
# Exports DATABASE_URL and REDIS_URL for the started servers.

services_install() {
  local need=()
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  [ -x /usr/bin/chromium ] || need+=(chromium)
  [ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
  if [ ${#need[@]} -gt 0 ]; then
    echo "ci: installing ${need[*]} from Debian packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

services_start() {
  local dir=$1 pgbin pg_port redis_port
  pgbin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/postgres | sort -V | tail -n 1)")
  pg_port=$(free_port); redis_port=$(free_port)
  mkdir -p "$dir/pg" "$dir/redis"
  # PostgreSQL refuses to run as root: the Debian package's postgres user owns the cluster.
  id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" postgres
  chown -R postgres "$dir/pg"; chmod 755 "$dir"
  runuser -u postgres -- "$pgbin/initdb" -D "$dir/pg/data" -U postgres --auth=trust -E UTF8 >/dev/null
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/log" -w -o \
    "-c listen_addresses=127.0.0.1 -p $pg_port -k $dir/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
  runuser -u postgres -- psql -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE supportdesk" >/dev/null
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --daemonize yes --dir "$dir/redis" --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/log"
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/supportdesk"
  export REDIS_URL="redis://127.0.0.1:$redis_port/0"
  echo "ci: PostgreSQL on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$redis_port"
}

services_stop() {
  local dir=$1 pgbin
  pgbin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/postgres | sort -V | tail -n 1)")
  [ -d "$dir/pg/data" ] && runuser -u postgres -- "$pgbin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null 2>&1
  [ -f "$dir/redis/redis.pid" ] && kill "$(cat "$dir/redis/redis.pid")" 2>/dev/null
  return 0
}

# Start a dovecot on loopback in DIR/dovecot as the tests do (tests/dovecot.py: own config,
# unprivileged user, random port), check it greets over IMAP, stop it. Fails loudly so a
# machine that cannot run dovecot is found before the mailbox tests.
dovecot_check() {
  local dir=$1/dovecot port user group
  port=$(free_port); mkdir -p "$dir/run" "$dir/state" "$dir/mail"; chmod 755 "$1" "$dir"
  if [ "$(id -u)" = 0 ]; then user=nobody; group=$(id -gn nobody); else user=$(id -un); group=$(id -gn); fi
  : > "$dir/passwd"
  cat > "$dir/dovecot.conf" <<CONF
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/log
instance_name = ci-check
protocols = imap
listen = 127.0.0.1
ssl = no
default_internal_user = $user
default_internal_group = $group
default_login_user = $user
mail_location = maildir:$dir/mail/%u
passdb {
  driver = passwd-file
  args = $dir/passwd
}
userdb {
  driver = static
  args = uid=$user gid=$group
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
CONF
  /usr/sbin/dovecot -c "$dir/dovecot.conf" || { echo "ci: dovecot did not start (log: $dir/log)"; return 1; }
  local greeting=""
  for _ in $(seq 50); do
    greeting=$(python3 -c "import socket; s=socket.create_connection(('127.0.0.1', $port), 2); print(s.recv(200).decode().strip())" 2>/dev/null) && break
    sleep 0.1
  done
  /usr/sbin/dovecot -c "$dir/dovecot.conf" stop >/dev/null 2>&1
  case "$greeting" in
    "* OK"*) echo "ci: dovecot $(/usr/sbin/dovecot --version | cut -d' ' -f1) answers on loopback" ;;
    *) echo "ci: dovecot did not answer on 127.0.0.1:$port (log: $dir/log)"; return 1 ;;
  esac
}
