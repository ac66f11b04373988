package planner

import (
	"fmt"
	"strings"
)

// Service is what the compose file says about one service, as far as the
// planner needs it. Env holds only the service's own `environment:` entries,
// never values from env_file (those are secrets and stay out of plans).
type Service struct {
	Name  string
	Image string // as written: ${VAR} stays ${VAR}
	// ImageResolved is the image after interpolation with .env and the
	// environment, "" when it cannot be resolved: for reading the version
	// and the role only, never for output.
	ImageResolved string
	Build         bool     // the service has a build: section
	Command       []string // nil when the service has no command
	Env           map[string]string
	// ShmSizeBytes is the service's shm_size; 0 when unset (Docker's
	// default /dev/shm is 64 MB).
	ShmSizeBytes int64
	// ShmKept: the file holds compose-scale's shm_size, and ShmSizeBytes
	// is the admin's from before it (kept in the line's comment).
	ShmKept bool
	Ports   []Port
	// PortsResolved are Ports after interpolation (same indices), for
	// comparing ${HTTP_IP}:${HTTP_PORT} bindings; nil when no port uses a
	// variable that has a value. Never written.
	PortsResolved []Port
	Replicas      int  // scale or deploy.replicas; 0 or 1 for one container
	Disabled      bool // scale: 0: runs no container (a service an override switched off)
	// Fixed marks a service of a file compose-scale does not write (the
	// base file under --override): it cannot be renamed or deleted.
	Fixed       bool
	NetworkMode string   // as written
	Networks    []string // as written; nil for the default network
	EnvFiles    []string // env_file paths as written
	Healthcheck string   // healthcheck.test, words joined
	// Topology, as the file shows it.
	DependsOn     []string
	ContainerName string // as written: ${COMPOSE_PROJECT_NAME}-db stays so
	Hostname      string // as written
	// Aliases are the names other containers reach it by besides its
	// service name: container_name and hostname, interpolated.
	Aliases []string
	// ConnEnv holds where the service connects (DB_HOST, REDIS_URL...,
	// PREPARED_STATEMENTS: the connection keys only): its env_file's
	// values under its own environment's, interpolated. For deciding
	// which service is the database; never written, never printed.
	ConnEnv map[string]string
	// ConnFrom says where each connection or credential key the service
	// gets is set, as docker compose merges them: "environment", or the
	// env_file's path as written. It covers DB_USER and DB_PASS too,
	// whose values never reach the planner.
	ConnFrom map[string]string
	// URLPassword lists the _URL keys whose URL carries a password.
	URLPassword map[string]bool
	// CredGroup is the same number for services that log in to the
	// database as the same user with the same password (compared where
	// the file is read; the planner never sees either); 0 for a service
	// that sets none of DATABASE_URL, DB_USER or DB_PASS.
	CredGroup int
	// Profiles are the service's profiles: `docker compose up` does not
	// start it unless one is enabled.
	Profiles []string
}

// Port is one published port of a service (see compose.Port).
type Port struct {
	Index     int // position in the service's ports list
	Long      bool
	HostIP    string
	Published string // "" when no fixed host port; may be a range or ${VAR}
	Target    string
	Protocol  string
}

func (p Port) String() string {
	s := p.Target
	if p.Published != "" {
		s = p.Published + ":" + s
	}
	if p.HostIP != "" {
		s = p.HostIP + ":" + s
	}
	if p.Protocol != "" && p.Protocol != "tcp" {
		s += "/" + p.Protocol
	}
	return s
}

// Machine is the hardware the stack runs on.
type Machine struct {
	MemoryBytes int64
	CPUs        int
}

const (
	KiB int64 = 1024
	MiB       = 1024 * KiB
	GiB       = 1024 * MiB
)

// Role is what a service does in a Mastodon deployment.
type Role string

const (
	RoleWeb       Role = "web"
	RoleStreaming Role = "streaming"
	RoleSidekiq   Role = "sidekiq"
	RoleDB        Role = "db"
	RoleRedis     Role = "redis"
	RoleSearch    Role = "search" // elasticsearch / opensearch
	RolePgBouncer Role = "pgbouncer"
	RoleOther     Role = "other"
)

// RoleOf classifies a service by what it runs, falling back to its name:
// admins rename services (`worker`, `postgres`) but rarely change commands.
func RoleOf(s Service) Role {
	cmd := strings.Join(s.Command, " ")
	image := strings.ToLower(s.image())
	repo := image
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	base := repo[strings.LastIndex(repo, "/")+1:]
	switch {
	case IsSidekiq(s.Command):
		return RoleSidekiq
	case strings.Contains(cmd, "puma") || strings.Contains(cmd, "rails s"):
		return RoleWeb
	case base == "mastodon-streaming" || runsStreaming(s.Command):
		return RoleStreaming
	case strings.Contains(base, "pgbouncer") || len(s.Command) > 0 && strings.HasSuffix(s.Command[0], "pgbouncer"):
		return RolePgBouncer
	case isPostgresImage(base):
		return RoleDB
	case base == "elasticsearch" || base == "elasticsearch-oss" || base == "opensearch":
		return RoleSearch
	case base == "redis" || base == "valkey" || base == "keydb":
		return RoleRedis
	}
	// The name decides, but not for a proxy's image: a web service that
	// is nginx is no Puma.
	switch {
	case s.Name == "web" && !otherServer(base):
		return RoleWeb
	case s.Name == "streaming" && !otherServer(base):
		return RoleStreaming
	case s.Name == "redis":
		return RoleRedis
	}
	if dbNames[s.Name] && !notDatabase(base) {
		return RoleDB // an admin's own image or Dockerfile, named for what it is
	}
	return RoleOther
}

// runsStreaming reports a command that runs Mastodon's streaming server
// (node ./streaming/index.js, npm or yarn start in streaming/), not one
// that merely names it (cloudflared tunnel run mastodon-streaming).
func runsStreaming(cmd []string) bool {
	if len(cmd) == 0 {
		return false
	}
	line := strings.Join(cmd, " ")
	if !strings.Contains(line, "streaming") {
		return false
	}
	for _, w := range cmd {
		switch b := w[strings.LastIndex(w, "/")+1:]; b {
		case "node", "nodejs", "npm", "yarn", "pnpm", "npx", "bun":
			return true
		}
	}
	return false
}

// otherServer reports an image that is some other server, whatever the
// service is called: a proxy or tunnel in front of Mastodon.
func otherServer(base string) bool {
	for _, w := range []string{"nginx", "caddy", "traefik", "httpd", "apache", "haproxy", "envoy", "varnish", "cloudflared", "tailscale", "certbot", "acme", "swag"} {
		if strings.Contains(base, w) {
			return true
		}
	}
	return false
}

// dbNames are what admins call their database service.
var dbNames = map[string]bool{"db": true, "postgres": true, "postgresql": true, "database": true, "mastodon-db": true, "pg": true}

// notTheDatabase are words in the image of a container that runs a
// Postgres image (or a client built on one) without being the database:
// backup jobs, exporters, admin UIs.
var notTheDatabase = []string{"backup", "exporter", "dump", "restore", "pgadmin", "pgweb", "barman", "wal-g", "walg", "pgbackrest", "cron", "s3", "upgrade"}

// isPostgresImage reports whether an image's base name (no registry, no
// tag) runs a Postgres server: postgres, postgis, timescaledb, an admin's
// postgres-pg_repack build; not postgres-backup-s3 or postgres_exporter.
func isPostgresImage(base string) bool {
	if !strings.Contains(base, "postgres") && !strings.Contains(base, "postgis") && !strings.HasPrefix(base, "timescaledb") {
		return false
	}
	return !notDatabase(base)
}

func notDatabase(base string) bool {
	for _, w := range notTheDatabase {
		if strings.Contains(base, w) {
			return true
		}
	}
	return false
}

// image is what the service runs: the interpolated image when known.
func (s Service) image() string {
	if s.ImageResolved != "" {
		return s.ImageResolved
	}
	return s.Image
}

// ServiceError is a problem with one service; the CLI turns the service name
// into FILE:LINE.
type ServiceError struct {
	Service string
	Msg     string
}

func (e *ServiceError) Error() string { return fmt.Sprintf("service %q: %s", e.Service, e.Msg) }

// TooSmallError says the machine cannot hold even the smallest Mastodon.
type TooSmallError struct {
	Have, Need int64
}

func (e *TooSmallError) Error() string {
	return fmt.Sprintf("a machine with %s cannot hold Mastodon by compose-scale's estimates: it needs at least %s (one Puma process, one Sidekiq process, streaming, Redis and a minimal Postgres)", FormatBytes(e.Have), FormatBytes(e.Need))
}

// FormatBytes prints a size the way admins read droplet sizes: GB/MB with one
// decimal where needed (binary units, as /proc/meminfo and docker use).
func FormatBytes(b int64) string {
	switch {
	case b >= GiB:
		if b%GiB == 0 {
			return fmt.Sprintf("%d GB", b/GiB)
		}
		return fmt.Sprintf("%.1f GB", float64(b)/float64(GiB))
	case b >= MiB:
		return fmt.Sprintf("%d MB", b/MiB)
	default:
		return fmt.Sprintf("%d kB", b/KiB)
	}
}
