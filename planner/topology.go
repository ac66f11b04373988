package planner

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// topology is what the app connects to: the database it uses (nil when it
// is not in the file), a PgBouncer in front of it, and the Redis.
type topology struct {
	db, redis *Service
	dbWhy     string // why db was taken, for the report
	// external is set when the app names a database host that is no
	// service of the file (a managed database, another machine).
	external string
	bouncer  *bouncerFacts
}

// bouncerFacts are an admin's PgBouncer as its environment configures it
// (the variables of edoburu/pgbouncer, bitnami/pgbouncer and the official
// image; PgBouncer's own defaults where it does not say).
type bouncerFacts struct {
	service       string
	maxClientConn int
	poolSize      int // default_pool_size
	reservePool   int // reserve_pool_size
	poolMode      string
	said          []string        // settings its environment gave
	via           map[string]bool // the file's services that connect through it
	viaSidekiq    bool            // a sidekiq service does: so will its copies
	generated     bool            // compose-scale's own: its limits follow the plan
}

// dbHost is the database host a service connects to, from DATABASE_URL
// (which Mastodon reads first) or DB_HOST; "" when neither says.
func dbHost(s Service) string { return addressOf(s).Host }

// urlHost is the host of scheme://host:port.
func urlHost(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	if strings.HasPrefix(rest, "[") {
		if i := strings.Index(rest, "]"); i > 0 {
			return rest[1:i]
		}
	}
	host, _, _ := strings.Cut(rest, ":")
	return host
}

// byHost finds the service other containers reach as host: by its name,
// container_name or hostname.
func byHost(services []Service, host string) *Service {
	if host == "" {
		return nil
	}
	for i := range services {
		s := &services[i]
		if s.Name == host || s.ContainerName == host || s.Hostname == host || contains(s.Aliases, host) {
			return s
		}
	}
	return nil
}

// findTopology works out which service is the database (and Redis, and a
// PgBouncer) from what the file shows: the host the Rails services name in
// DB_HOST (their environment, or their env_file's connection keys), who
// depends on whom, names. dbService (--db-service) decides when given.
func findTopology(services []Service, dbService string) (topology, error) {
	var t topology
	var rails, dbs []Service
	for _, s := range services {
		switch RoleOf(s) {
		case RoleWeb, RoleSidekiq:
			rails = append(rails, s)
		case RoleDB:
			dbs = append(dbs, s)
		}
	}
	t.redis = findRedis(services, rails)
	if dbService != "" {
		return namedDB(t, services, rails, dbService)
	}
	// The host the app names decides.
	host, from := "", ""
	for _, s := range rails {
		if a := addressOf(s); a.Host != "" {
			host, from = a.Host, s.Name+"'s "+a.Key
			break
		}
	}
	if host != "" {
		target := byHost(services, host)
		switch {
		case target == nil && host == bouncerService:
			// The app was pointed at the PgBouncer compose-scale is
			// to write (a DATABASE_URL it cannot edit): the database
			// is found as when nothing names it.
		case target == nil:
			t.external = host
			return t, nil
		case RoleOf(*target) == RolePgBouncer:
			t.bouncer = findBouncer(services, rails)
			up := bouncerUpstream(services, *target, dbs)
			if up == nil {
				t.external = "behind " + target.Name
				return t, nil
			}
			t.db, t.dbWhy = up, fmt.Sprintf("%s names %s, a PgBouncer in front of it", from, target.Name)
			return t, nil
		default:
			t.db, t.dbWhy = target, fmt.Sprintf("%s names it", from)
			return t, nil
		}
	}
	if len(dbs) > 0 {
		t.db, t.dbWhy = likeliestDB(dbs, rails)
	}
	return t, nil
}

// namedDB is the database --db-service names.
func namedDB(t topology, services, rails []Service, dbService string) (topology, error) {
	s := byHost(services, dbService)
	if s == nil || s.Name != dbService {
		var names []string
		for _, s := range services {
			names = append(names, s.Name)
		}
		return t, fmt.Errorf("--db-service %s: no such service (services: %s)", dbService, strings.Join(names, ", "))
	}
	if RoleOf(*s) == RolePgBouncer {
		return t, fmt.Errorf("--db-service %s: that is a PgBouncer; name the Postgres service behind it", dbService)
	}
	t.db, t.dbWhy = s, "named with --db-service"
	t.bouncer = findBouncer(services, rails)
	return t, nil
}

// likeliestDB is, when nothing names the database, the Postgres the app
// waits for, named like a database, running the server; the reason is
// given only when there was a choice.
func likeliestDB(dbs, rails []Service) (*Service, string) {
	best, bestScore := 0, -1
	for i, d := range dbs {
		score := 0
		for _, r := range rails {
			for _, dep := range r.DependsOn {
				if dep == d.Name {
					score += 4
					break
				}
			}
		}
		if dbNames[d.Name] {
			score += 2
		}
		if _, err := ParsePostgresCommand(d.Command); err == nil {
			score++
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if len(dbs) == 1 {
		return &dbs[best], "" // the only one needs no reason in the report
	}
	var others []string
	for i, d := range dbs {
		if i != best {
			others = append(others, d.Name)
		}
	}
	why := "named like a database"
	if bestScore >= 4 {
		why = "the app depends on it"
	}
	return &dbs[best], fmt.Sprintf("%s; %s also run%s Postgres, --db-service picks another", why, strings.Join(others, ", "), map[bool]string{true: "s", false: ""}[len(others) == 1])
}

// findRedis is the Redis the app names (REDIS_HOST, REDIS_URL), else the
// first service running Redis.
func findRedis(services []Service, rails []Service) *Service {
	for _, r := range rails {
		for _, h := range []string{r.ConnEnv["REDIS_HOST"], urlHost(r.ConnEnv["REDIS_URL"])} {
			if h == "" {
				continue
			}
			if s := byHost(services, h); s != nil {
				return s
			}
			return nil // a Redis elsewhere
		}
	}
	for i := range services {
		if RoleOf(services[i]) == RoleRedis {
			return &services[i]
		}
	}
	return nil
}

// bouncerUpstream is the database a PgBouncer forwards to: the host its
// environment names, else the Postgres it depends on, else the only one.
func bouncerUpstream(services []Service, b Service, dbs []Service) *Service {
	for _, key := range []string{bouncerMarker, "DB_HOST", "POSTGRESQL_HOST", "DATABASES_HOST", "PGBOUNCER_DATABASE_HOST"} {
		if h := b.Env[key]; h != "" && !strings.Contains(h, "$") {
			return byHost(services, h)
		}
	}
	for _, key := range []string{"DATABASE_URL", "DATABASES"} {
		if h := urlHost(b.Env[key]); h != "" {
			return byHost(services, h)
		}
	}
	for _, dep := range b.DependsOn {
		if s := byHost(services, dep); s != nil && RoleOf(*s) == RoleDB {
			return s
		}
	}
	if len(dbs) == 1 {
		return &dbs[0]
	}
	return nil
}

// findBouncer reads the PgBouncer the Rails services connect through, if
// any: its limits from its environment (PgBouncer's defaults otherwise),
// and which services go through it.
func findBouncer(services []Service, rails []Service) *bouncerFacts {
	var b *Service
	for _, r := range rails {
		if s := byHost(services, dbHost(r)); s != nil && RoleOf(*s) == RolePgBouncer {
			b = s
			break
		}
	}
	if b == nil {
		return nil
	}
	f := &bouncerFacts{service: b.Name, maxClientConn: 100, poolSize: 20, poolMode: "session", via: map[string]bool{}}
	setting := func(name string, into *int, str *string) {
		for _, key := range []string{strings.ToUpper(name), "PGBOUNCER_" + strings.ToUpper(name)} {
			v, ok := b.Env[key]
			if !ok || strings.Contains(v, "$") {
				continue
			}
			if into != nil {
				if n, err := strconv.Atoi(v); err == nil && n >= 0 {
					*into = n
					f.said = append(f.said, name)
				}
			} else {
				*str = strings.ToLower(v)
				f.said = append(f.said, name)
			}
			return
		}
	}
	setting("max_client_conn", &f.maxClientConn, nil)
	setting("default_pool_size", &f.poolSize, nil)
	setting("reserve_pool_size", &f.reservePool, nil)
	setting("pool_mode", nil, &f.poolMode)
	sort.Strings(f.said)
	for _, s := range services {
		switch RoleOf(s) {
		case RoleWeb, RoleSidekiq, RoleStreaming:
			if h := byHost(services, dbHost(s)); h != nil && h.Name == b.Name {
				f.via[s.Name] = true
				f.viaSidekiq = f.viaSidekiq || RoleOf(s) == RoleSidekiq
			}
		}
	}
	return f
}

// noDatabaseLine tells the admin what the plan assumed of a database that
// is not in the file.
func (p *planning) noDatabaseLine(in Input) string {
	where := "there is no Postgres service in this file"
	if p.ExternalDB != "" {
		// The host is not printed: it comes from env_file, whose values
		// stay out of reports.
		where = "the database is not in this file (the app's DB_HOST names no service of it)"
	}
	if in.MaxConnections > 0 {
		return fmt.Sprintf("%s: planned within --max-connections %d; make sure the server allows that many", where, in.MaxConnections)
	}
	return fmt.Sprintf("%s: planned within max_connections %d, Postgres's default; if the server allows more, pass its setting with --max-connections N", where, postgresDefaultConnections)
}

// Endpoints are the services a live instance is read from: the Postgres
// the app uses and the Redis its Sidekiq uses (SIDEKIQ_REDIS_* before
// REDIS_*), with the REDIS_NAMESPACE prefix; "" where the file does not
// hold one.
type Endpoints struct {
	DB, Redis, Namespace string
}

// FindEndpoints finds them as the planner does (dbService: --db-service).
func FindEndpoints(services []Service, dbService string) (Endpoints, error) {
	var e Endpoints
	topo, err := findTopology(services, dbService)
	if err != nil {
		return e, err
	}
	if topo.db != nil {
		e.DB = topo.db.Name
	}
	if topo.redis != nil {
		e.Redis = topo.redis.Name
	}
	for _, s := range services {
		if RoleOf(s) != RoleSidekiq {
			continue
		}
		for _, h := range []string{s.ConnEnv["SIDEKIQ_REDIS_HOST"], urlHost(s.ConnEnv["SIDEKIQ_REDIS_URL"])} {
			if t := byHost(services, h); t != nil {
				e.Redis = t.Name
			}
		}
		if ns := s.ConnEnv["REDIS_NAMESPACE"]; ns != "" {
			e.Namespace = ns
		}
		break
	}
	return e, nil
}
