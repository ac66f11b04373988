package observe

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/compose-scale/compose-scale/compose"
)

// Command is one program run: its argv, what it reads on stdin, and the
// variables added to its environment. Secrets go in Env (REDISCLI_AUTH,
// PGPASSWORD), never in Argv, where every local user reads them in ps.
type Command struct {
	Argv  []string
	Stdin string
	Env   []string
}

// Runner runs a command and returns its stdout; stderr goes into the
// error. Tests give the real one a PATH with a docker stand-in.
type Runner func(ctx context.Context, c Command) (string, error)

// Exec is the Runner that runs programs.
func Exec(ctx context.Context, c Command) (string, error) {
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Stdin = strings.NewReader(c.Stdin)
	cmd.Env = append(os.Environ(), c.Env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return out.String(), fmt.Errorf("%s", msg)
	}
	return out.String(), nil
}

// Source is how observe reaches Redis and Postgres.
type Source struct {
	Run Runner
	// Through docker compose (the default): the compose files (the base
	// first, then an override, as docker compose -f takes them) and the
	// services that run Redis and Postgres.
	ComposeFiles            []string
	RedisService, DBService string
	DBUser                  string // psql's -U; "postgres" when empty
	// Sidekiq's Redis login as the app's environment gives it
	// (SIDEKIQ_REDIS_* or REDIS_*): the database number, and the ACL
	// user and password for a Redis that requires them. The password
	// travels to redis-cli in REDISCLI_AUTH, through docker compose exec
	// -e, which takes the value from compose-scale's environment.
	RedisDB                  int
	RedisUser, RedisPassword string
	// Or directly: URLs (never printed; error messages are scrubbed of
	// them, and their passwords go in the environment).
	RedisURL, DatabaseURL string
	Namespace             string // REDIS_NAMESPACE
	Timeout               time.Duration
}

// compose is the start of every docker compose command.
func (s Source) compose() []string {
	argv := []string{"docker", "compose"}
	for _, f := range s.ComposeFiles {
		argv = append(argv, "-f", f)
	}
	return argv
}

func (s Source) redisCommand(args []string) (Command, error) {
	if s.RedisURL != "" {
		conn, env, err := redisURLArgs(s.RedisURL)
		if err != nil {
			return Command{}, err
		}
		return Command{Argv: append(append([]string{"redis-cli"}, conn...), args...), Env: env}, nil
	}
	argv := append(s.compose(), "exec", "-T")
	var env []string
	if s.RedisPassword != "" {
		// -e NAME without a value: docker compose exec takes it from our
		// environment, so the password is in no argv.
		argv = append(argv, "-e", "REDISCLI_AUTH")
		env = append(env, "REDISCLI_AUTH="+s.RedisPassword)
	}
	argv = append(argv, s.RedisService, "redis-cli")
	if s.RedisDB != 0 {
		argv = append(argv, "-n", fmt.Sprint(s.RedisDB))
	}
	if s.RedisUser != "" {
		argv = append(argv, "--user", s.RedisUser)
	}
	return Command{Argv: append(argv, args...), Env: env}, nil
}

// redisURLArgs are redis-cli's connection options for a URL as Mastodon
// takes it (redis://[user[:password]@]host[:port][/db], rediss:// for
// TLS, unix:///path?db=N): everything but the password, which goes in
// REDISCLI_AUTH. redis-cli -u would put it in argv.
func redisURLArgs(raw string) (args, env []string, err error) {
	user, pw := compose.URLLogin(raw, true)
	u, err := url.Parse(compose.WithoutLogin(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("--redis is not a URL (redis://[user:password@]host:port/db)")
	}
	switch u.Scheme {
	case "redis", "rediss":
		if h := u.Hostname(); h != "" {
			args = append(args, "-h", h)
		}
		if p := u.Port(); p != "" {
			args = append(args, "-p", p)
		}
		if u.Scheme == "rediss" {
			args = append(args, "--tls")
		}
	case "unix":
		args = append(args, "-s", u.Path)
	default:
		return nil, nil, fmt.Errorf("--redis: the scheme %q is not redis://, rediss:// or unix://", u.Scheme)
	}
	db := u.Query().Get("db")
	if u.Scheme != "unix" {
		if p := strings.Trim(u.Path, "/"); p != "" {
			db = p
		}
	}
	if db != "" && db != "0" {
		args = append(args, "-n", db)
	}
	if user != "" && user != "default" {
		args = append(args, "--user", user)
	}
	if pw != "" {
		env = append(env, "REDISCLI_AUTH="+pw)
	}
	return args, env, nil
}

func (s Source) psqlCommand() (Command, error) {
	if s.DatabaseURL != "" {
		conn, env, err := postgresURLArgs(s.DatabaseURL)
		if err != nil {
			return Command{}, err
		}
		return Command{Argv: append([]string{"psql", conn}, PsqlArgs...), Env: env}, nil
	}
	user := s.DBUser
	if user == "" {
		user = "postgres"
	}
	return Command{Argv: append(append(s.compose(), "exec", "-T", s.DBService, "psql", "-U", user), PsqlArgs...)}, nil
}

// postgresURLArgs is the URL without its password (from the userinfo
// or a password= parameter), which goes in PGPASSWORD.
func postgresURLArgs(raw string) (conn string, env []string, err error) {
	user, pw := compose.URLLogin(raw, false) // libpq: %XX, + stays
	u, err := url.Parse(compose.WithoutLogin(raw))
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("--database is not a postgresql:// URL")
	}
	if user != "" {
		u.User = url.User(user)
	}
	if pw != "" {
		env = append(env, "PGPASSWORD="+pw)
	}
	q := u.Query()
	if pw := q.Get("password"); pw != "" {
		env = append(env, "PGPASSWORD="+pw)
		q.Del("password")
		u.RawQuery = q.Encode()
	}
	return u.String(), env, nil
}

// CanReadRedis and CanReadPostgres say whether the source knows where
// they are.
func (s Source) CanReadRedis() bool    { return s.RedisURL != "" || s.RedisService != "" }
func (s Source) CanReadPostgres() bool { return s.DatabaseURL != "" || s.DBService != "" }

// CanReadMemory says whether there are compose files for docker compose
// stats to read the containers of.
func (s Source) CanReadMemory() bool { return len(s.ComposeFiles) > 0 }

func (s Source) run(c Command, err error) (string, error) {
	if err != nil {
		return "", err
	}
	t := s.Timeout
	if t == 0 {
		t = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), t)
	defer cancel()
	out, err := s.Run(ctx, c)
	if err != nil {
		// One line: a client's usage text over several would glue into
		// one word once its line breaks are stripped.
		return out, fmt.Errorf("%s", Printable(strings.Join(strings.Fields(s.scrub(err.Error())), " ")))
	}
	return out, nil
}

// scrub keeps URLs and passwords out of messages.
func (s Source) scrub(msg string) string {
	secrets := []string{s.RedisURL, s.DatabaseURL}
	for _, u := range []string{s.RedisURL, s.DatabaseURL} {
		_, pw := compose.URLLogin(u, false)
		_, formPW := compose.URLLogin(u, true)
		secrets = append(secrets, pw, formPW)
		if p, err := url.Parse(compose.WithoutLogin(u)); err == nil {
			secrets = append(secrets, p.Query().Get("password"))
		}
	}
	for _, x := range append(secrets, s.RedisPassword) {
		if x != "" {
			msg = strings.ReplaceAll(msg, x, "<secret>")
		}
	}
	return msg
}

// ReadSidekiq reads Sidekiq's state once: EVAL_RO where the server has
// it (Redis 7), EVAL (the script only reads) otherwise.
func (s Source) ReadSidekiq() (Sidekiq, error) {
	out, err := s.run(s.redisCommand(SidekiqArgs(s.Namespace, true)))
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "unknown command") || strings.Contains(strings.ToLower(out), "unknown command") {
		out, err = s.run(s.redisCommand(SidekiqArgs(s.Namespace, false)))
	}
	if err != nil {
		return Sidekiq{}, err
	}
	if t := strings.TrimSpace(out); strings.HasPrefix(t, "ERR") || strings.HasPrefix(t, "NOAUTH") || strings.HasPrefix(t, "WRONGPASS") || strings.HasPrefix(t, "NOPERM") {
		return Sidekiq{}, fmt.Errorf("%s", Printable(s.scrub(firstLine(out))))
	}
	return ParseSidekiq(out)
}

// ReadPostgres reads Postgres's connections once.
func (s Source) ReadPostgres(settings []string) (Postgres, error) {
	c, err := s.psqlCommand()
	c.Stdin = PostgresSQL(settings)
	out, err := s.run(c, err)
	if err != nil {
		return Postgres{}, err
	}
	return ParsePostgres(out)
}
