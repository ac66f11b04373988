package planner

import (
	"fmt"
	"sort"
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
	// releases, at the newest release it publishes: PgBouncer 1.26.0,
	// after the security fixes of 1.25.2 (an unauthenticated crash from a
	// malformed SCRAM message among them). Its own entrypoint (which
	// listens on 5432 and reads DB_* variables that mean Mastodon's own)
	// is replaced by BouncerScript.
	bouncerImage   = "edoburu/pgbouncer:v1.26.0-p0"
	bouncerService = "pgbouncer"
	bouncerPort    = 6432
	// bouncerMarker is the variable that tells compose-scale's PgBouncer
	// from an admin's: the upstream its script connects to.
	bouncerMarker = "PGBOUNCER_UPSTREAM_HOST"
	// migrateService runs Rails migrations on the direct port: `docker
	// compose run --rm migrate`. Its profile keeps `up` from starting it.
	migrateService = "migrate"
	migrateProfile = "migrate"
)

// BouncerScript is the shell script the PgBouncer service runs: it writes
// pgbouncer.ini and the auth file from the environment at container start
// and execs pgbouncer.
//
// The login is the app's own, read as Mastodon reads it (Rails's
// database.yml, streaming): DATABASE_URL's user and password first
// (percent-decoded), then DB_USER (default mastodon) and DB_PASS. The
// service gets them the way the app does (the same env_file entry, the
// same environment references), so no password is ever copied into the
// compose file, and the pgbouncer process itself runs with an emptied
// environment. With a password, clients authenticate with SCRAM and
// PgBouncer logs in to Postgres with it; without one (the stock
// POSTGRES_HOST_AUTH_METHOD=trust), trust on the internal network. In
// userlist.txt a " is doubled, as PgBouncer reads it; a line break, which
// the file cannot hold, stops the container with a line saying so.
//
// The PGBOUNCER_LISTEN_* and PGBOUNCER_CONF_DIR variables exist for tests
// that run the same script on loopback; the compose file does not set
// them. Prepared statements are off: before 1.21 PgBouncer cannot track
// them; from 1.21 it is told not to (max_prepared_statements = 0), since
// Rails frees them with SQL DEALLOCATE, which PgBouncer does not follow
// (PgBouncer's config.md, max_prepared_statements).
//
// It is written as the container sees it; in the compose file every $ is
// $$ (compose's escape).
const BouncerScript = `umask 077
dir="${PGBOUNCER_CONF_DIR:-/tmp/pgbouncer}"
mkdir -p "$dir"
auth=$(LC_ALL=C awk -v out="$dir/userlist.txt" '
function hex(c) { return index("0123456789abcdef", tolower(c)) - 1 }
function unescape(s,   r, i, c, h, l) {
  r = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1); h = hex(substr(s, i + 1, 1)); l = hex(substr(s, i + 2, 1))
    if (c == "%" && h >= 0 && l >= 0 && h + l > 0) { r = r sprintf("%c", h * 16 + l); i += 2 } else { r = r c }
  }
  return r
}
BEGIN {
  user = ENVIRON["DB_USER"]; pass = ENVIRON["DB_PASS"]; url = ENVIRON["DATABASE_URL"]
  if (url != "" && (p = index(url, "://")) > 0) {
    rest = substr(url, p + 3)
    if ((q = index(rest, "/")) > 0) rest = substr(rest, 1, q - 1)
    if ((q = index(rest, "?")) > 0) rest = substr(rest, 1, q - 1)
    at = 0
    for (i = length(rest); i > 0; i--) if (substr(rest, i, 1) == "@") { at = i; break }
    if (at > 0) {
      info = substr(rest, 1, at - 1)
      if ((q = index(info, ":")) > 0) {
        if (substr(info, q + 1) != "") pass = unescape(substr(info, q + 1))
        info = substr(info, 1, q - 1)
      }
      if (info != "") user = unescape(info)
    }
  }
  if (user == "") user = "mastodon"
  if (index(user pass, "\n") > 0 || index(user pass, "\r") > 0) {
    print "compose-scale pgbouncer: the database user or password the app logs in with holds a line break, which the auth_file of PgBouncer cannot hold: change the password (ALTER ROLE ... PASSWORD, and DB_PASS)" > "/dev/stderr"
    exit 1
  }
  gsub(/"/, "\"\"", user); gsub(/"/, "\"\"", pass)
  printf "\"%s\" \"%s\"\n", user, pass > out
  print (pass == "" ? "trust" : "scram-sha-256")
}')
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
exec env -i PATH="$PATH" pgbouncer "$dir/pgbouncer.ini"
`

// GeneratedBouncer is the PgBouncer service compose-scale writes.
type GeneratedBouncer struct {
	Exists   bool   // the file has it from an earlier run
	Upstream string // the db service
	Why      string
	// MigrateCommand runs Rails migrations on the direct port: they take
	// session advisory locks, which transaction pooling does not keep.
	MigrateCommand string
	// AfterPooled says what to do when a migration already ran through
	// the pooler.
	AfterPooled string
}

// wantedConnections is what the machine's memory and CPUs would run if
// no connection limit bound them: Puma, streaming, and sidekiq workers at
// the thread cap beside the small processes.
func (p *planning) wantedConnections(sz sizing) int {
	f := p.RailsPools
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
func (p *planning) decideBouncer(in Input, topo topology, sz sizing, db *Service) error {
	ours := oursBouncer(in.Services)
	if topo.bouncer != nil && ours == nil {
		p.Notes = append(p.Notes, fmt.Sprintf("the app connects through the file's own PgBouncer, %s: kept, and budgeted in two layers", topo.bouncer.service))
		return nil
	}
	if ours == nil {
		for _, s := range in.Services {
			if RoleOf(s) == RolePgBouncer || s.Name == bouncerService {
				// The admin's, which the app does not use (yet): no second
				// pooler beside it.
				p.Notes = append(p.Notes, fmt.Sprintf("the file has its own PgBouncer, %s, which the app does not connect through: compose-scale writes none beside it and plans the pools direct; point DB_HOST (and DB_PORT) at it with PREPARED_STATEMENTS=false and compose-scale budgets it in two layers", s.Name))
				return nil
			}
		}
	}
	wanted := p.wantedConnections(sz)
	ceiling := maxPlannedConnections
	if in.MaxConnections > 0 {
		ceiling = in.MaxConnections
	}
	block, viaURL := poolingBlock(in.Services, p.Version, db)
	if len(viaURL) > 0 && block != "" {
		return fmt.Errorf("%s: and %s reach the database through compose-scale's PgBouncer by a URL, so the app cannot run either with it or without it", block, strings.Join(viaURL, ", "))
	}
	want, why := false, ""
	switch in.PgBouncer {
	case ToggleOff:
		if len(viaURL) > 0 {
			return fmt.Errorf("--pgbouncer off: %s reach%s the database through %s by DATABASE_URL, which compose-scale does not edit: point it back at the database first, then run compose-scale again", strings.Join(viaURL, ", "), map[bool]string{true: "es", false: ""}[len(viaURL) == 1], bouncerService)
		}
		why = "--pgbouncer off"
	case ToggleOn:
		if block != "" {
			return fmt.Errorf("--pgbouncer on: %s", block)
		}
		want, why = true, "--pgbouncer on"
	default:
		want = wanted > usable(ceiling)
		switch {
		case len(viaURL) > 0:
			want, why = true, fmt.Sprintf("auto: %s reach%s the database through %s by DATABASE_URL", strings.Join(viaURL, ", "), map[bool]string{true: "es", false: ""}[len(viaURL) == 1], bouncerService)
		case want && block != "":
			want = false
			why = fmt.Sprintf("auto: this machine can run pools of about %d connections, more than the safe %d under max_connections %d, but PgBouncer cannot be put in front of them: %s; planned without it, within max_connections %d", wanted, usable(ceiling), ceiling, block, ceiling)
		case want:
			why = fmt.Sprintf("auto: this machine can run pools of about %d connections, more than the safe %d under max_connections %d; PgBouncer in transaction mode lets them share a few Postgres connections", wanted, usable(ceiling), ceiling)
		default:
			why = fmt.Sprintf("auto: the pools this machine can run (about %d connections) fit under a safe max_connections, so no PgBouncer", wanted)
		}
	}
	if want && db == nil {
		if in.PgBouncer == ToggleOn || len(viaURL) > 0 {
			return fmt.Errorf("--pgbouncer on: there is no database service in this file for PgBouncer to sit in front of; run PgBouncer beside the database, or drop the flag")
		}
		want = false
		why = "auto: the database is not in this file, so compose-scale writes no PgBouncer for it"
	}
	if !want {
		p.bouncer = nil
		if ours != nil {
			p.removeBouncer = ours.Name
			p.Notes = append(p.Notes, fmt.Sprintf("%s: removed (%s); the app's DB_HOST, DB_PORT and PREPARED_STATEMENTS that pointed at it are back as they were before compose-scale wrote it", ours.Name, why))
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
	for _, s := range appServices(in.Services) {
		f.via[s.Name] = true
	}
	p.bouncer = f
	p.wantedClients = wanted
	p.GenBouncer = &GeneratedBouncer{Exists: ours != nil, Upstream: db.Name, Why: why}
	return nil
}

// bouncerPointers are the entries that point a service at compose-scale's
// PgBouncer: DB_HOST and DB_PORT where it reaches the database by them
// (a DATABASE_URL already names the pooler), the read replica's where it
// is the same database, and prepared statements off.
func (p *planning) bouncerPointers(s Service, db *Service, services []Service) [][2]string {
	var kv [][2]string
	if addressOf(s).Key != "DATABASE_URL" {
		kv = append(kv, [2]string{"DB_HOST", bouncerService}, [2]string{"DB_PORT", strconv.Itoa(bouncerPort)})
	}
	kv = append(kv, [2]string{"PREPARED_STATEMENTS", "false"})
	if r := replicaAddress(s, p.Version); r.Key == "REPLICA_DB_HOST" && sameService(byHost(services, r.Host), db) {
		kv = append(kv, [2]string{"REPLICA_DB_HOST", bouncerService}, [2]string{"REPLICA_DB_PORT", strconv.Itoa(bouncerPort)})
		if p.Version.AtLeast(4, 4) {
			kv = append(kv, [2]string{"REPLICA_PREPARED_STATEMENTS", "false"})
		}
	}
	return kv
}

// allPointers are every entry bouncerPointers may write, for taking them
// back: RemoveEnv leaves an entry that does not hold compose-scale's value.
var allPointers = [][2]string{{"DB_HOST", bouncerService}, {"DB_PORT", strconv.Itoa(bouncerPort)}, {"PREPARED_STATEMENTS", "false"},
	{"REPLICA_DB_HOST", bouncerService}, {"REPLICA_DB_PORT", strconv.Itoa(bouncerPort)}, {"REPLICA_PREPARED_STATEMENTS", "false"}}

// bouncerChanges writes, updates or removes compose-scale's PgBouncer and
// its migration service, and points the app at it (or back at what it
// had before: an entry compose-scale changed is restored, one it added
// removed).
func (p *planning) bouncerChanges(in Input, web *Service, db *Service, profiled []Service) []Change {
	app := p.appNames()
	migrate := oursMigrate(profiled)
	if p.removeBouncer != "" {
		c := []Change{{Kind: Remove, Service: p.removeBouncer}}
		if migrate != nil {
			c = append(c, Change{Kind: Remove, Service: migrate.Name})
		}
		for _, name := range app {
			for _, kv := range allPointers {
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
	login := loginSource(in.Services)
	var c []Change
	keep := p.keepEnv // first written: what the admin had is kept
	if g.Exists {
		c = updateBouncer(oursBouncer(in.Services), login, env)
		keep = SetEnv // the entries are compose-scale's own from the last run
	} else {
		c = []Change{{Kind: AddService, Service: bouncerService, After: db.Name, New: p.newBouncer(in, db, login, env)}}
	}
	for _, name := range app {
		for _, kv := range p.bouncerPointers(p.appService(in.Services, name), db, in.Services) {
			c = append(c, Change{Kind: keep, Service: name, Key: kv[0], Value: kv[1]})
		}
	}
	return append(c, p.migrateChanges(in, web, db, profiled, migrate)...)
}

// updateBouncer keeps a PgBouncer an earlier compose-scale wrote up to
// date: its script, login and image follow this one's (an older script
// logged in as postgres, from the first env_file only).
func updateBouncer(ours *Service, login *Service, env [][2]string) []Change {
	c := []Change{{Kind: SetCommand, Service: bouncerService, Command: []string{strings.ReplaceAll(BouncerScript, "$", "$$")}}}
	if newerBouncerImage(ours.Image) {
		c = append(c, Change{Kind: SetField, Service: bouncerService, Key: "image", Value: bouncerImage})
	}
	if login != nil {
		c = append(c, Change{Kind: CopyEntry, Service: bouncerService, From: login.Name, Key: "env_file"})
	}
	for _, k := range []string{"DATABASE_URL", "DB_USER", "DB_PASS"} {
		if v, ok := login.envOf(k); ok {
			c = append(c, Change{Kind: SetEnv, Service: bouncerService, Key: k, Value: v})
		} else if v, ok := ours.Env[k]; ok {
			c = append(c, Change{Kind: RemoveEnv, Service: bouncerService, Key: k, Value: v})
		}
	}
	for _, kv := range env {
		c = append(c, Change{Kind: SetEnv, Service: bouncerService, Key: kv[0], Value: kv[1]})
	}
	return c
}

// newBouncer is compose-scale's PgBouncer service, logging in the way the
// app does.
func (p *planning) newBouncer(in Input, db *Service, login *Service, env [][2]string) *NewService {
	ns := &NewService{
		Comment:     "PgBouncer in transaction mode, written by compose-scale: run migrations with `docker compose run --rm migrate`",
		Image:       bouncerImage,
		Restart:     "always",
		Entrypoint:  []string{"/bin/sh", "-ec"},
		Command:     []string{strings.ReplaceAll(BouncerScript, "$", "$$")},
		Networks:    serviceNetworks(db),
		DependsOn:   []string{db.Name},
		Healthcheck: []string{"CMD", "pg_isready", "-h", "127.0.0.1", "-p", strconv.Itoa(bouncerPort)},
	}
	if login != nil {
		// The app's login, the way the app gets it: its env_file
		// entry as written, and its own environment's entries for
		// the login keys as written (${DB_PASS} stays a reference).
		ns.EnvFileOf, ns.EnvFiles = login.Name, login.EnvFiles
		for _, k := range []string{"DATABASE_URL", "DB_USER", "DB_PASS"} {
			if v, ok := login.Env[k]; ok {
				ns.Env = append(ns.Env, [2]string{k, v})
			}
		}
		if v, ok := login.Env["DB_PASS"]; ok && !strings.Contains(v, "$") {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s writes DB_PASS in the compose file itself, and %s must log in with it too: move it to .env (DB_PASS=...) and write DB_PASS: ${DB_PASS} in both", login.Name, bouncerService))
		}
	}
	ns.Env = append(ns.Env, env...)
	if in.KeepDBPort {
		ns.Ports = []string{fmt.Sprintf("127.0.0.1:%d:%d", bouncerPort, bouncerPort)}
	}
	return ns
}

// migrateChanges add the service migrations run with, on the direct
// port past the pooler (they take session locks transaction pooling
// drops), and say how to run them.
func (p *planning) migrateChanges(in Input, web, db *Service, profiled []Service, migrate *Service) []Change {
	g := p.GenBouncer
	webName := "web"
	if p.Web != nil {
		webName = p.Web.Service
	}
	g.AfterPooled = fmt.Sprintf("if a migration ran through %s (before this file, or as `docker compose run --rm %s bundle exec rails db:migrate`), its advisory lock stays on a pooled connection and the next migration waits for it: docker compose restart %s", bouncerService, webName, bouncerService)
	if web == nil || addressOf(*web).Key == "DATABASE_URL" {
		// A URL names the pooler: a direct copy would need it, password
		// and all, in the compose file.
		g.MigrateCommand = fmt.Sprintf("docker compose run --rm -e DATABASE_URL %s bundle exec rails db:migrate, with DATABASE_URL in your shell naming %s:5432 instead of %s:%d", webName, db.Name, bouncerService, bouncerPort)
		return nil
	}
	if migrate != nil {
		g.MigrateCommand = "docker compose run --rm " + migrate.Name
		return nil
	}
	name := migrateService
	for hasService(append(append([]Service(nil), in.Services...), profiled...), name) {
		name = "compose-scale-" + name // the admin has a migrate of their own
	}
	cn := ""
	if web.ContainerName != "" {
		cn = web.ContainerName + "-" + name // `run` uses container_name, and web's is taken
	}
	g.MigrateCommand = "docker compose run --rm " + name
	return []Change{{Kind: AddService, Service: name, After: bouncerService, New: &NewService{
		ContainerName: cn,
		Comment:       "Rails migrations on the direct port, past PgBouncer (they hold session locks): docker compose run --rm " + name,
		Extends:       webName,
		Profiles:      []string{migrateProfile},
		Restart:       "no",
		Env:           [][2]string{{"DB_HOST", db.Name}, {"DB_PORT", "5432"}},
		Command:       []string{"bundle", "exec", "rails", "db:migrate"},
		CommandFlow:   true,
	}}}
}

// appNames are the planned services that open database pools.
func (p *planning) appNames() []string {
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
	return app
}

// appService is the file's service of a planned name; a new copy is
// what it was copied from (sidekiq's first, or streaming's).
func (p *planning) appService(services []Service, name string) Service {
	for _, s := range services {
		if s.Name == name {
			return s
		}
	}
	want := RoleSidekiq
	if s := p.Streaming; s != nil && contains(s.Services, name) {
		want = RoleStreaming
	}
	for _, s := range services {
		if RoleOf(s) == want {
			return s
		}
	}
	return Service{Name: name}
}

// loginSource is the service whose login compose-scale's PgBouncer
// copies: the first app service that sets one (poolingBlock has made
// sure the others log in the same way), Puma first.
func loginSource(services []Service) *Service {
	app := appServices(services)
	sort.SliceStable(app, func(i, j int) bool { return RoleOf(app[i]) == RoleWeb && RoleOf(app[j]) != RoleWeb })
	for i := range app {
		if len(app[i].EnvFiles) > 0 || app[i].CredGroup != 0 {
			return &app[i]
		}
	}
	return nil
}

// oursMigrate is compose-scale's migration service, if the file has it.
func oursMigrate(profiled []Service) *Service {
	for i := range profiled {
		if contains(profiled[i].Profiles, migrateProfile) && strings.Contains(strings.Join(profiled[i].Command, " "), "db:migrate") {
			return &profiled[i]
		}
	}
	return nil
}

// serviceNetworks are the networks a service is on, as written; nil for
// the default network.
func serviceNetworks(s *Service) []string {
	if s == nil {
		return nil
	}
	return s.Networks
}

// envOf is a login source's own environment entry, as written; a nil
// source has none.
func (s *Service) envOf(key string) (string, bool) {
	if s == nil {
		return "", false
	}
	v, ok := s.Env[key]
	return v, ok
}

// newerBouncerImage reports whether image is an edoburu/pgbouncer tag
// older than bouncerImage: compose-scale moves its own service to the
// pinned release (security fixes), and never moves one an admin bumped.
func newerBouncerImage(image string) bool {
	repo, tag, ok := strings.Cut(image, ":")
	if !ok || repo != "edoburu/pgbouncer" {
		return false
	}
	_, ours, _ := strings.Cut(bouncerImage, ":")
	return lessVersionTag(tag, ours)
}

// lessVersionTag compares tags like v1.25.1-p0 number by number.
func lessVersionTag(a, b string) bool {
	na, nb := tagNumbers(a), tagNumbers(b)
	for i := 0; i < len(na) && i < len(nb); i++ {
		if na[i] != nb[i] {
			return na[i] < nb[i]
		}
	}
	return len(na) < len(nb)
}

func tagNumbers(tag string) []int {
	var out []int
	for _, f := range strings.FieldsFunc(tag, func(r rune) bool { return r < '0' || r > '9' }) {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

// hasService reports a service of that name.
func hasService(services []Service, name string) bool {
	for _, s := range services {
		if s.Name == name {
			return true
		}
	}
	return false
}
