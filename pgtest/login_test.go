package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-scale/compose-scale/internal/fixturetest"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/planner"
	"github.com/compose-scale/compose-scale/rewrite"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// instance is a deployment's directory: the compose file and the files
// docker compose reads beside it.
type instance struct {
	dir   string
	files map[string]string // name -> content; docker-compose.yml among them
}

func (in instance) write(t *testing.T) {
	t.Helper()
	for name, text := range in.files {
		if err := os.WriteFile(filepath.Join(in.dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// rewriteIn runs the pipeline as the CLI does in dir: .env for
// variables, env_files read for their connection and login keys.
func rewriteIn(t *testing.T, dir string, in planner.Input) *rewrite.Result {
	t.Helper()
	path := filepath.Join(dir, "docker-compose.yml")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dotenvText, _ := os.ReadFile(filepath.Join(dir, ".env"))
	vars, err := compose.NewVars(".env", dotenvText, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	res, err := rewrite.RewriteFiles(rewrite.Files{
		Base: compose.File{Path: path, Text: src}, Vars: vars,
		ReadEnvFile: func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, p)) },
	}, in)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// composeEnvironments loads a compose file as docker compose does,
// env_files read and merged and everything interpolated with .env, and
// returns each service's environment: what its container gets.
func composeEnvironments(t *testing.T, dir string, text []byte) map[string]map[string]string {
	t.Helper()
	env := types.Mapping{}
	if b, err := os.ReadFile(filepath.Join(dir, ".env")); err == nil {
		m, err := dotenv.UnmarshalBytesWithLookup(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range m {
			env[k] = v
		}
	}
	project, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(dir, "docker-compose.yml"), Content: text}},
		Environment: env,
	}, func(o *loader.Options) {
		o.SetProjectName("login-test", true)
		o.Profiles = []string{"*"} // the migrate service too
	})
	if err != nil {
		t.Fatalf("docker compose would not load the output: %v", err)
	}
	out := map[string]map[string]string{}
	for name, s := range project.Services {
		m := map[string]string{}
		for k, v := range s.Environment {
			if v != nil {
				m[k] = *v
			}
		}
		out[name] = m
	}
	return out
}

// appLogin is the user and password a Mastodon service logs in with,
// read from its container environment the way Rails's database.yml and
// streaming read it: DATABASE_URL's userinfo first, then DB_USER
// (default mastodon) and DB_PASS. Written apart from the pooler's script,
// so the two are checked against each other.
func appLogin(t *testing.T, env map[string]string) (user, pass string) {
	user, pass = env["DB_USER"], env["DB_PASS"]
	if raw := env["DATABASE_URL"]; raw != "" {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("DATABASE_URL: %v", err)
		}
		if u.User != nil {
			if n := u.User.Username(); n != "" {
				user = n
			}
			if p, ok := u.User.Password(); ok && p != "" {
				pass = p
			}
		}
	}
	if user == "" {
		user = "mastodon"
	}
	return user, pass
}

// appAddress is where a service connects, in the same order: the URL's
// host and port, else DB_HOST and DB_PORT, else localhost:5432.
func appAddress(t *testing.T, env map[string]string) (host, port string) {
	host, port = env["DB_HOST"], env["DB_PORT"]
	if raw := env["DATABASE_URL"]; raw != "" {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("DATABASE_URL: %v", err)
		}
		host, port = u.Hostname(), u.Port()
	}
	if host == "" {
		host = "localhost"
	}
	if port == "" {
		port = "5432"
	}
	return host, port
}

// scramCluster starts Postgres with password logins over TCP (scram-sha-256)
// and the app's role, or trust as the stock file's
// POSTGRES_HOST_AUTH_METHOD=trust gives.
func scramCluster(t *testing.T, user, pass string) (*Cluster, *Server) {
	t.Helper()
	c, _ := cluster(t)
	hba := "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
	if pass == "" {
		hba = "local all all trust\nhost all all 127.0.0.1/32 trust\n"
	}
	hbaPath := filepath.Join(c.Dir, "data", "pg_hba.conf")
	if err := os.WriteFile(hbaPath, []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	if c.cred != nil {
		os.Chown(hbaPath, int(c.cred.Uid), int(c.cred.Gid))
	}
	s, err := c.Start([]string{"-c", "password_encryption=scram-sha-256"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	if user != "postgres" {
		sql := fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD %s", quoteIdent(user), quoteLiteral(pass))
		if pass == "" {
			sql = fmt.Sprintf("CREATE ROLE %s LOGIN", quoteIdent(user))
		}
		if out, err := psqlAt(c, s.socket, s.port, "", sql); err != nil {
			t.Fatalf("%s: %v: %s", sql, err, out)
		}
	} else if pass != "" {
		if out, err := psqlAt(c, s.socket, s.port, "", "ALTER ROLE postgres PASSWORD "+quoteLiteral(pass)); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	return c, s
}

func quoteIdent(s string) string   { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// loginAs runs one statement on host:port as user with password.
func loginAs(c *Cluster, port int, user, pass, sql string) (string, error) {
	cmd := exec.Command(filepath.Join(c.bin, "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", user, "-d", "postgres", "-c", sql)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+pass, "PGCONNECT_TIMEOUT=10", "PGSSLMODE=disable")
	if pass == "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD=")
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// The stock v4.3 file, with the admin's own lines swapped in.
func stockWith(t *testing.T, edits ...[2]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "fixtures", "stock-v4.3.input.yml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, e := range edits {
		if n := strings.Count(s, e[0]); n == 0 {
			t.Fatalf("the stock file has no %q", e[0])
		}
		s = strings.ReplaceAll(s, e[0], e[1])
	}
	return s
}

// handWritten is a compose file as an admin keeps one, written for this
// test, no fixture's shape: one environment for every Rails service
// through an anchor, the login in its DATABASE_URL (a password with " and
// ', percent-encoded), already pointed at pgbouncer:6432 as compose-scale
// advises for a URL it will not copy, and a split of their own.
const handWritten = `x-app: &app
  image: ghcr.io/mastodon/mastodon:v4.5.0
  restart: unless-stopped
  env_file: .env.production
  environment: &appenv
    DATABASE_URL: "postgresql://mastodon:p%22w%27rd@pgbouncer:6432/mastodon_production"
    PREPARED_STATEMENTS: "false"
    REDIS_URL: redis://redis:6379/0
  depends_on:
    - db
    - redis

services:
  db:
    image: postgres:16-alpine
    restart: unless-stopped
    environment:
      POSTGRES_USER: mastodon
      POSTGRES_PASSWORD: ${DB_PASS:-changeme}
      POSTGRES_DB: mastodon_production
  redis:
    image: redis:7-alpine
  web:
    <<: *app
    command: bundle exec puma -C config/puma.rb
    ports:
      - "127.0.0.1:3000:3000"
  streaming:
    <<: *app
    image: ghcr.io/mastodon/mastodon-streaming:v4.5.0
    command: node ./streaming/index.js
  sidekiq-fast:
    <<: *app
    command: bundle exec sidekiq -c 15 -q default -q push
    environment:
      <<: *appenv
      DB_POOL: 15
  sidekiq-slow:
    <<: *app
    command: bundle exec sidekiq -c 10 -q pull -q ingress -q mailers -q scheduler -q fasp
    environment:
      <<: *appenv
      DB_POOL: 10
`

// Every configuration admins log in with: the pooler compose-scale
// writes, started from the output's own script with the environment
// docker compose gives its container, lets the app's own login through.
func TestPoolerLogsInAsTheApp(t *testing.T) {
	bouncerBin(t)
	// A password holding all four, and how a dotenv file writes it
	// (double quotes: \" and \$ escaped).
	const odd, oddDotenv = "a\"b`c$d'e", `"a\"b` + "`" + `c\$d'e"`
	inEnvironment := func(refs string) [][2]string {
		// The same entries for every Mastodon service, as admins write them.
		return [][2]string{
			{"    command: bundle exec puma -C config/puma.rb\n", "    command: bundle exec puma -C config/puma.rb\n    environment:\n" + refs},
			{"    command: node ./streaming/index.js\n", "    command: node ./streaming/index.js\n    environment:\n" + refs},
			{"    command: bundle exec sidekiq\n", "    command: bundle exec sidekiq\n    environment:\n" + refs},
		}
	}
	for _, tc := range []struct {
		name  string
		files map[string]string
		edits [][2]string
		user  string // the login the app must get through with
		pass  string
	}{
		{name: "DATABASE_URL in the env_file, pointed at pgbouncer:6432 as compose-scale advises",
			files: map[string]string{".env.production": "DATABASE_URL=postgresql://mastodon:s3%22cr%40et@pgbouncer:6432/mastodon_production\nREDIS_HOST=redis\n"},
			user:  "mastodon", pass: "s3\"cr@et"},
		{name: "credentials in environment: from .env",
			files: map[string]string{".env.production": "DB_HOST=db\nREDIS_HOST=redis\n", ".env": "DB_USER=mastodon_app\nDB_PASS=from-dotenv\n"},
			edits: inEnvironment("      DB_USER: ${DB_USER}\n      DB_PASS: ${DB_PASS}\n"),
			user:  "mastodon_app", pass: "from-dotenv"},
		{name: "no DB_USER",
			files: map[string]string{".env.production": "DB_HOST=db\nDB_PASS=only-a-password\n"},
			user:  "mastodon", pass: "only-a-password"},
		{name: "a password with \" ` $ and ' in .env, referenced from environment:",
			files: map[string]string{".env.production": "DB_HOST=db\nDB_USER=mastodon\n", ".env": "DB_PASS=" + oddDotenv + "\n"},
			edits: inEnvironment("      DB_PASS: ${DB_PASS}\n"),
			user:  "mastodon", pass: odd},
		{name: "a password with \" ` $ and ' in the env_file",
			files: map[string]string{".env.production": "DB_HOST=db\nDB_USER=mastodon\nDB_PASS=" + oddDotenv + "\n"},
			user:  "mastodon", pass: odd},
		{name: "the stock trust setup",
			files: map[string]string{".env.production": "DB_HOST=db\nDB_USER=postgres\nDB_NAME=postgres\n"},
			user:  "postgres", pass: ""},
		{name: "a hand-written file: DATABASE_URL with \" and ' in the password, in an environment every service shares through an anchor, a hand split",
			files: map[string]string{"docker-compose.yml": handWritten, ".env.production": "LOCAL_DOMAIN=example.social\n"},
			user:  "mastodon", pass: "p\"w'rd"},
		{name: "credentials in a second env_file",
			files: map[string]string{".env.production": "DB_HOST=db\nREDIS_HOST=redis\n", ".env.db": "DB_USER=second\nDB_PASS=in-the-second-file\n"},
			edits: [][2]string{{"    env_file: .env.production\n", "    env_file:\n      - .env.production\n      - .env.db\n"}},
			user:  "second", pass: "in-the-second-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && !strings.Contains(tc.name, "in the env_file") {
				t.Skip("go test -short: the URL and odd-password cases only; CI runs every case")
			}
			dir := t.TempDir()
			files := map[string]string{"docker-compose.yml": stockWith(t, tc.edits...)}
			for k, v := range tc.files {
				files[k] = v
			}
			instance{dir, files}.write(t)
			res := rewriteIn(t, dir, planner.Input{Machine: planner.Machine{MemoryBytes: 8 * planner.GiB, CPUs: 4}, PgBouncer: planner.ToggleOn})
			envs := composeEnvironments(t, dir, res.Output)
			web, pgb := envs["web"], envs["pgbouncer"]
			if pgb == nil {
				t.Fatalf("no pgbouncer in the output:\n%s", res.Output)
			}
			user, pass := appLogin(t, web)
			if user != tc.user || pass != tc.pass {
				t.Fatalf("the case is not what it says: web logs in as %q / %q, want %q / %q", user, pass, tc.user, tc.pass)
			}
			for name, env := range envs {
				if name == "pgbouncer" || name == "migrate" || envs[name]["DB_HOST"] == "" && envs[name]["DATABASE_URL"] == "" {
					continue
				}
				// Every app service (streaming, each sidekiq of a split)
				// logs in as web does.
				if u, p := appLogin(t, env); u != user || p != pass {
					t.Errorf("%s logs in as %q, web as %q", name, u, user)
				}
				if h, p := appAddress(t, env); h != "pgbouncer" || p != "6432" {
					t.Errorf("%s connects to %s:%s, not through pgbouncer:6432", name, h, p)
				}
				if env["PREPARED_STATEMENTS"] != "false" {
					t.Errorf("%s: PREPARED_STATEMENTS=%q behind transaction pooling", name, env["PREPARED_STATEMENTS"])
				}
			}
			if strings.Contains(string(res.Output), pass) && pass != "" {
				t.Errorf("the password is in the compose file")
			}
			c, s := scramCluster(t, user, pass)
			b := startBouncerEnv(t, c, s, compose.Service{Name: "pgbouncer", Command: commandOf(t, res.Output, "pgbouncer")}, pgb)
			got, err := loginAs(c, b.port, user, pass, "SELECT current_user")
			if err != nil || got != user {
				t.Errorf("through the pooler as %q: %q %v\npgbouncer log:\n%s", user, got, err, b.log.String())
			}
			if pass != "" {
				if out, err := loginAs(c, b.port, user, "wrong", "SELECT 1"); err == nil {
					t.Errorf("a wrong password was let in: %q", out)
				}
			}
		})
	}
}

// A password PgBouncer's auth_file cannot hold stops the pooler with a
// line that says so, instead of a file that locks every login out.
func TestPoolerRefusesALineBreak(t *testing.T) {
	bouncerBin(t)
	dir := t.TempDir()
	instance{dir, map[string]string{
		"docker-compose.yml": stockWith(t),
		".env.production":    "DB_HOST=db\nDB_USER=mastodon\nDB_PASS=\"two\\nlines\"\n",
	}}.write(t)
	res := rewriteIn(t, dir, planner.Input{Machine: planner.Machine{MemoryBytes: 8 * planner.GiB, CPUs: 4}, PgBouncer: planner.ToggleOn})
	envs := composeEnvironments(t, dir, res.Output)
	if !strings.Contains(envs["pgbouncer"]["DB_PASS"], "\n") {
		t.Fatalf("the case is not what it says: DB_PASS %q", envs["pgbouncer"]["DB_PASS"])
	}
	c, _ := cluster(t)
	script, _ := (*compose.Vars)(nil).Interpolate(commandOf(t, res.Output, "pgbouncer")[0])
	cmd := exec.Command("/bin/sh", "-ec", script)
	cmd.Env = bouncerEnv(envs["pgbouncer"], c, filepath.Join(dir, "conf"), 1, 1)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the pooler started with a line break in the password:\n%s", out)
	}
	if !strings.Contains(string(out), "line break") || !strings.Contains(string(out), "change the password") {
		t.Errorf("its log does not say why: %s", out)
	}
}

// A migration run the way the report says (docker compose run --rm
// migrate) connects to the database itself, so its advisory lock is a
// real session's: another client, through the pooler or not, cannot take
// it. The same lock through the pooler is lost at the end of the
// transaction, which is what the migrate service exists to avoid.
func TestMigrationHoldsItsLockOnTheDirectPort(t *testing.T) {
	bouncerBin(t)
	dir := t.TempDir()
	instance{dir, map[string]string{
		"docker-compose.yml": stockWith(t),
		".env.production":    "DB_HOST=db\nDB_USER=mastodon\nDB_PASS=migrate-me\n",
	}}.write(t)
	res := rewriteIn(t, dir, planner.Input{Machine: planner.Machine{MemoryBytes: 8 * planner.GiB, CPUs: 4}, PgBouncer: planner.ToggleOn})
	if res.Plan.GenBouncer == nil || res.Plan.GenBouncer.MigrateCommand != "docker compose run --rm migrate" {
		t.Fatalf("the report's migration command: %+v", res.Plan.GenBouncer)
	}
	envs := composeEnvironments(t, dir, res.Output)
	migrate := envs["migrate"]
	host, port := appAddress(t, migrate)
	if host != "db" || port != "5432" {
		t.Fatalf("migrate connects to %s:%s, not to the database", host, port)
	}
	user, pass := appLogin(t, migrate)
	c, s := scramCluster(t, user, pass)
	b := startBouncerEnv(t, c, s, compose.Service{Name: "pgbouncer", Command: commandOf(t, res.Output, "pgbouncer")}, envs["pgbouncer"])
	// The docker stand-in: service names resolve to the loopback ports
	// these servers listen on.
	ports := map[string]int{"db": s.port, "pgbouncer": b.port}
	// Rails's migration lock, held by a session open on migrate's address.
	m := openSessionAt(t, c, "127.0.0.1", ports[host], user, pass)
	if got := m.query(t, "SELECT 1 FROM (SELECT pg_advisory_lock(8675309)) AS l;"); got != "1" {
		t.Fatalf("lock: %q", got)
	}
	if got, err := loginAs(c, b.port, user, pass, "SELECT pg_try_advisory_lock(8675309)"); err != nil || got != "f" {
		t.Errorf("a client through the pooler took the migration's lock: %q %v", got, err)
	}
	// Through the pooler the same lock outlives its session's hold.
	web := envs["web"]
	wh, _ := appAddress(t, web)
	p := openSessionAt(t, c, "127.0.0.1", ports[wh], user, pass)
	if got := p.query(t, "SELECT 1 FROM (SELECT pg_advisory_lock(4242)) AS l;"); got != "1" {
		t.Fatalf("lock: %q", got)
	}
	if got, err := loginAs(c, b.port, user, pass, "SELECT pg_try_advisory_lock(4242)"); err != nil || got != "t" {
		t.Logf("through the pooler: %q %v (a second server connection held the lock)", got, err)
	}
}

// commandOf is a service's command in a compose text, as compose reads it.
func commandOf(t *testing.T, text []byte, service string) []string {
	t.Helper()
	s, ok := fixturetest.ByName(t, text)[service]
	if !ok {
		t.Fatalf("no %s in the output", service)
	}
	return s.Command
}
