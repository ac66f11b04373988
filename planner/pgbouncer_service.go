package planner

import (
	"fmt"
	"strconv"
	"strings"
)

// Toggle is an auto|on|off choice (--pgbouncer, --cache-redis); "" is auto.
type Toggle string

const (
	ToggleAuto Toggle = "auto"
	ToggleOn   Toggle = "on"
	ToggleOff  Toggle = "off"
)

// ParseToggle validates an auto|on|off flag value.
func ParseToggle(flag, s string) (Toggle, error) {
	switch t := Toggle(s); t {
	case ToggleAuto, ToggleOn, ToggleOff:
		return t, nil
	}
	return "", fmt.Errorf("--%s %q: use auto, on or off", flag, s)
}

// The PgBouncer compose-scale writes.
const (
	// bouncerImage: edoburu/pgbouncer is the maintained, widely used
	// image; pinned, because PgBouncer's settings change between
	// releases. Its own entrypoint (which listens on 5432 and reads DB_*
	// variables that mean Mastodon's own) is replaced by bouncerScript.
	bouncerImage   = "edoburu/pgbouncer:v1.25.1-p0"
	bouncerService = "pgbouncer"
	bouncerPort    = 6432
	// bouncerMarker is the variable that tells compose-scale's PgBouncer
	// from an admin's: the upstream its script connects to.
	bouncerMarker = "PGBOUNCER_UPSTREAM_HOST"
)

// BouncerScript is the shell script the PgBouncer service runs: it writes
// pgbouncer.ini and the auth file from the environment at container start
// and execs pgbouncer. DB_USER and DB_PASS come from the app's env_file
// (.env.production), so no password is ever in the compose file: with
// DB_PASS set, clients authenticate with it (md5) and PgBouncer logs in to
// Postgres with it; without it (the stock POSTGRES_HOST_AUTH_METHOD=trust),
// trust on the internal network. The PGBOUNCER_LISTEN_* and
// PGBOUNCER_CONF_DIR variables exist for tests that run the same script
// on loopback; the compose file does not set them. Prepared statements
// are off: before 1.21 PgBouncer cannot track them; from 1.21 it is told
// not to (max_prepared_statements = 0), since Rails frees them with SQL
// DEALLOCATE, which PgBouncer does not follow (DOMAIN.md).
//
// It is written as the container sees it; in the compose file every $ is
// $$ (compose's escape).
const BouncerScript = `umask 077
dir="${PGBOUNCER_CONF_DIR:-/tmp/pgbouncer}"
mkdir -p "$dir"
auth=trust
if [ -n "${DB_PASS:-}" ]; then auth=md5; fi
printf '"%s" "%s"\n' "${DB_USER:-postgres}" "${DB_PASS:-}" > "$dir/userlist.txt"
cat > "$dir/pgbouncer.ini" <<EOF
[databases]
* = host=$PGBOUNCER_UPSTREAM_HOST port=$PGBOUNCER_UPSTREAM_PORT
[pgbouncer]
listen_addr = ${PGBOUNCER_LISTEN_ADDR:-*}
listen_port = ${PGBOUNCER_LISTEN_PORT:-6432}
unix_socket_dir =
auth_type = $auth
auth_file = $dir/userlist.txt
pool_mode = transaction
ignore_startup_parameters = extra_float_digits
max_client_conn = $PGBOUNCER_MAX_CLIENT_CONN
default_pool_size = $PGBOUNCER_DEFAULT_POOL_SIZE
reserve_pool_size = $PGBOUNCER_RESERVE_POOL_SIZE
EOF
if pgbouncer --version | grep -Eq '^PgBouncer (1\.(2[1-9]|[3-9][0-9])|[2-9])'; then
  echo "max_prepared_statements = 0" >> "$dir/pgbouncer.ini"
fi
exec pgbouncer "$dir/pgbouncer.ini"
`

// GeneratedBouncer is the PgBouncer service compose-scale writes.
type GeneratedBouncer struct {
	Exists   bool   // the file has it from an earlier run
	Upstream string // the db service
	Why      string
	// MigrateCommand runs Rails migrations on the direct port: they take
	// session advisory locks, which transaction pooling does not keep.
	MigrateCommand string
}

// wantedConnections is what the machine's memory and CPUs would run if
// no connection limit bound them: Puma, streaming, and sidekiq workers at
// the thread cap beside the small processes.
func (p *Plan) wantedConnections(sz sizing) int {
	f := poolsPerProcess(p.Version)
	smalls := len(smallProcesses(p.Version))
	workers := max(0, min(sz.sidekiqProcs-smalls, p.Machine.CPUs))
	return sz.webProcs*webThreads*f + sz.streamProcs*10 + (workers*sz.threadCap+smalls*smallConcurrency)*f
}

// ours reports a service compose-scale wrote as its PgBouncer.
func oursBouncer(services []Service) *Service {
	for i := range services {
		if _, ok := services[i].Env[bouncerMarker]; ok {
			return &services[i]
		}
	}
	return nil
}

// decideBouncer settles --pgbouncer: an admin's own PgBouncer is kept and
// budgeted; otherwise auto writes one when the pools the machine can run
// do not fit under a safe max_connections of 250, and only in front of a
// database in the file.
func (p *Plan) decideBouncer(in Input, topo topology, sz sizing, db *Service) error {
	ours := oursBouncer(in.Services)
	if topo.bouncer != nil && ours == nil {
		p.Notes = append(p.Notes, fmt.Sprintf("the app connects through the file's own PgBouncer, %s: kept, and budgeted in two layers", topo.bouncer.service))
		return nil
	}
	wanted := p.wantedConnections(sz)
	ceiling := maxPlannedConnections
	if in.MaxConnections > 0 {
		ceiling = in.MaxConnections
	}
	want, why := false, ""
	switch in.PgBouncer {
	case ToggleOff:
		why = "--pgbouncer off"
	case ToggleOn:
		want, why = true, "--pgbouncer on"
	default:
		want = wanted > usable(ceiling)
		if want {
			why = fmt.Sprintf("auto: this machine can run pools of about %d connections, more than the safe %d under max_connections %d; PgBouncer in transaction mode lets them share a few Postgres connections", wanted, usable(ceiling), ceiling)
		} else {
			why = fmt.Sprintf("auto: the pools this machine can run (about %d connections) fit under a safe max_connections, so no PgBouncer", wanted)
		}
	}
	if want && db == nil {
		if in.PgBouncer == ToggleOn {
			return fmt.Errorf("--pgbouncer on: there is no database service in this file for PgBouncer to sit in front of; run PgBouncer beside the database, or drop the flag")
		}
		want = false
		why = "auto: the database is not in this file, so compose-scale writes no PgBouncer for it"
	}
	if !want {
		p.bouncer = nil
		if ours != nil {
			p.removeBouncer = ours.Name
			p.Notes = append(p.Notes, fmt.Sprintf("%s: removed (%s), and the app's DB_HOST, DB_PORT and PREPARED_STATEMENTS that pointed at it", ours.Name, why))
		} else if in.PgBouncer == ToggleOff || wanted > usable(ceiling) {
			p.Notes = append(p.Notes, "pgbouncer: "+why)
		}
		return nil
	}
	// The server pool: about four connections a CPU (enough to keep them
	// busy with short transactions), within what max_connections leaves.
	pool := min(max(p.Machine.CPUs*4, 20), 100)
	reserve := max(5, pool/10)
	if room := usable(ceiling); pool+reserve > room {
		reserve = max(1, room/10)
		pool = room - reserve
	}
	if pool < 5 {
		if in.PgBouncer == ToggleOn {
			return fmt.Errorf("--pgbouncer on: max_connections %d leaves no room for a server pool; raise --max-connections", ceiling)
		}
		p.Notes = append(p.Notes, fmt.Sprintf("pgbouncer: not written: max_connections %d leaves no room for a server pool", ceiling))
		p.bouncer = nil
		return nil
	}
	f := &bouncerFacts{service: bouncerService, maxClientConn: 0, poolSize: pool, reservePool: reserve, poolMode: "transaction", via: map[string]bool{}, viaSidekiq: true, generated: true}
	for _, s := range in.Services {
		switch RoleOf(s) {
		case RoleWeb, RoleStreaming, RoleSidekiq:
			f.via[s.Name] = true
		}
	}
	p.bouncer = f
	p.wantedClients = wanted
	p.GenBouncer = &GeneratedBouncer{Exists: ours != nil, Upstream: db.Name, Why: why}
	return nil
}

// bouncerChanges writes, updates or removes compose-scale's PgBouncer and
// points the app at it (or back at the database).
func (p *Plan) bouncerChanges(in Input, web *Service, db *Service) []Change {
	var c []Change
	var app []string
	if p.Web != nil {
		app = append(app, p.Web.Service)
	}
	if s := p.Streaming; s != nil {
		if len(s.Services) > 0 {
			app = append(app, s.Services...)
		} else {
			app = append(app, s.Service)
		}
	}
	for _, s := range p.Sidekiq {
		app = append(app, s.Name)
	}
	pointers := [][2]string{{"DB_HOST", bouncerService}, {"DB_PORT", strconv.Itoa(bouncerPort)}, {"PREPARED_STATEMENTS", "false"}}
	if p.removeBouncer != "" {
		c = append(c, Change{Kind: Remove, Service: p.removeBouncer})
		for _, name := range app {
			for _, kv := range pointers {
				c = append(c, Change{Kind: RemoveEnv, Service: name, Key: kv[0], Value: kv[1]})
			}
		}
		return c
	}
	g := p.GenBouncer
	if g == nil {
		return nil
	}
	b := p.bouncer
	env := [][2]string{
		{bouncerMarker, g.Upstream},
		{"PGBOUNCER_UPSTREAM_PORT", "5432"},
		{"PGBOUNCER_MAX_CLIENT_CONN", strconv.Itoa(b.maxClientConn)},
		{"PGBOUNCER_DEFAULT_POOL_SIZE", strconv.Itoa(b.poolSize)},
		{"PGBOUNCER_RESERVE_POOL_SIZE", strconv.Itoa(b.reservePool)},
	}
	if g.Exists {
		for _, kv := range env {
			c = append(c, Change{Kind: SetEnv, Service: bouncerService, Key: kv[0], Value: kv[1]})
		}
	} else {
		ns := &NewService{
			Comment:     "PgBouncer in transaction mode, written by compose-scale: run migrations on the direct port (see its report)",
			Image:       bouncerImage,
			Restart:     "always",
			Env:         env,
			Entrypoint:  []string{"/bin/sh", "-ec"},
			Command:     []string{strings.ReplaceAll(BouncerScript, "$", "$$")},
			Networks:    serviceNetworks(db),
			DependsOn:   []string{db.Name},
			Healthcheck: []string{"CMD", "pg_isready", "-h", "127.0.0.1", "-p", strconv.Itoa(bouncerPort)},
		}
		if web != nil && len(web.EnvFiles) > 0 {
			ns.EnvFile = web.EnvFiles[0] // DB_USER and DB_PASS, read at start
		}
		if in.KeepDBPort {
			ns.Ports = []string{fmt.Sprintf("127.0.0.1:%d:%d", bouncerPort, bouncerPort)}
		}
		c = append(c, Change{Kind: AddService, Service: bouncerService, After: db.Name, New: ns})
	}
	for _, name := range app {
		for _, kv := range pointers {
			c = append(c, Change{Kind: SetEnv, Service: name, Key: kv[0], Value: kv[1]})
		}
	}
	webName := "web"
	if p.Web != nil {
		webName = p.Web.Service
	}
	g.MigrateCommand = fmt.Sprintf("docker compose run --rm -e DB_HOST=%s -e DB_PORT=5432 %s bundle exec rails db:migrate", db.Name, webName)
	return c
}

// serviceNetworks are the networks a service is on, as written; nil for
// the default network.
func serviceNetworks(s *Service) []string {
	if s == nil {
		return nil
	}
	return s.Networks
}
