package planner

import (
	"fmt"
	"strings"
)

// dbAddress is where a service's database connection goes, read in the
// order Mastodon reads it: DATABASE_URL first (Rails merges it over
// config/database.yml, and streaming then reads nothing else), then
// DB_HOST and DB_PORT, then database.yml's defaults (localhost:5432, the
// user mastodon).
type dbAddress struct {
	Key      string // "DATABASE_URL", "DB_HOST", or "" for the defaults
	From     string // where Key is set: "environment" or an env_file path
	Host     string // "" when Key is "": Mastodon's default, localhost
	Password bool   // the URL carries the password
}

func addressOf(s Service) dbAddress {
	if u, ok := s.ConnEnv["DATABASE_URL"]; ok && u != "" {
		return dbAddress{Key: "DATABASE_URL", From: s.ConnFrom["DATABASE_URL"], Host: urlHost(u), Password: s.URLPassword["DATABASE_URL"]}
	}
	if h := s.ConnEnv["DB_HOST"]; h != "" {
		return dbAddress{Key: "DB_HOST", From: s.ConnFrom["DB_HOST"], Host: h}
	}
	return dbAddress{}
}

// replicaAddress is where a Rails service's read replica pool goes (from
// 4.2: REPLICA_DATABASE_URL, then REPLICA_DB_HOST); Key "" when it has
// none.
func replicaAddress(s Service, v Version) dbAddress {
	if !v.AtLeast(4, 2) || RoleOf(s) == RoleStreaming {
		return dbAddress{} // streaming never reads from the replica
	}
	if u := s.ConnEnv["REPLICA_DATABASE_URL"]; u != "" {
		return dbAddress{Key: "REPLICA_DATABASE_URL", From: s.ConnFrom["REPLICA_DATABASE_URL"], Host: urlHost(u), Password: s.URLPassword["REPLICA_DATABASE_URL"]}
	}
	if h := s.ConnEnv["REPLICA_DB_HOST"]; h != "" {
		return dbAddress{Key: "REPLICA_DB_HOST", From: s.ConnFrom["REPLICA_DB_HOST"], Host: h}
	}
	return dbAddress{}
}

// where names a key's place for a message: "DATABASE_URL in
// .env.production" or "in its environment:".
func (a dbAddress) where() string {
	if a.From == "environment" || a.From == "" {
		return a.Key + " in its environment:"
	}
	return a.Key + " in " + a.From
}

// appServices are the services that open database pools: Puma,
// streaming and sidekiq, in file order.
func appServices(services []Service) []Service {
	var out []Service
	for _, s := range services {
		switch RoleOf(s) {
		case RoleWeb, RoleStreaming, RoleSidekiq:
			if !s.Disabled {
				out = append(out, s)
			}
		}
	}
	return out
}

// poolingBlock is why compose-scale's PgBouncer cannot serve the app:
// a service that reaches the database through a URL (a password in it
// would have to be copied into the compose file to point it elsewhere),
// or services that log in differently. "" when nothing stands in the way.
// via reports that a URL already names the PgBouncer compose-scale
// writes: it must be there.
func poolingBlock(services []Service, v Version, db *Service) (block string, via []string) {
	group, groupOf, seen := 0, "", false
	for _, s := range appServices(services) {
		for _, a := range []dbAddress{addressOf(s), replicaAddress(s, v)} {
			if !strings.HasSuffix(a.Key, "_URL") {
				continue
			}
			if a.Host == bouncerService {
				via = append(via, s.Name)
				continue
			}
			if db != nil && !sameService(byHost(services, a.Host), db) {
				continue // it goes elsewhere: not this database's pools
			}
			secret := "compose-scale does not copy its password into the compose file"
			if !a.Password {
				secret = "compose-scale does not rewrite a URL"
			}
			return fmt.Sprintf("%s reads %s, which Rails and streaming use before DB_HOST; %s to point it at PgBouncer. Replace it with DB_HOST, DB_PORT, DB_USER and DB_PASS, or point its host at %s:%d and set PREPARED_STATEMENTS=false, then run compose-scale again", s.Name, a.where(), secret, bouncerService, bouncerPort), nil
		}
		switch {
		case !seen:
			group, groupOf, seen = s.CredGroup, s.Name, true
		case s.CredGroup != group:
			return fmt.Sprintf("%s and %s log in to Postgres differently (DATABASE_URL, DB_USER or DB_PASS differ between them, or one sets none), and one PgBouncer holds one login for the app: give every Mastodon service the same env_file and credentials", groupOf, s.Name), nil
		}
	}
	return "", via
}

// replicaPools is how many more pools each Rails process opens to db
// through a read replica setting that names it (or the PgBouncer in
// front of it): 1 or 0. A replica elsewhere is that server's concern.
func replicaPools(services []Service, v Version, db *Service) int {
	if db == nil {
		return 0
	}
	for _, s := range appServices(services) {
		r := replicaAddress(s, v)
		if r.Key == "" {
			continue
		}
		t := byHost(services, r.Host)
		if sameService(t, db) || r.Host == bouncerService || t != nil && RoleOf(*t) == RolePgBouncer {
			return 1
		}
	}
	return 0
}

// sameService compares services by name: topology keeps copies.
func sameService(a, b *Service) bool { return a != nil && b != nil && a.Name == b.Name }
