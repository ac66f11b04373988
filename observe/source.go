package observe

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"time"
)

// Runner runs a command with stdin and returns its stdout; stderr goes
// into the error. Tests give the real one a PATH with a docker stand-in.
type Runner func(ctx context.Context, argv []string, stdin string) (string, error)

// Exec is the Runner that runs programs.
func Exec(ctx context.Context, argv []string, stdin string) (string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
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
	// Through docker compose (the default): the compose file and the
	// services that run Redis and Postgres.
	ComposeFile, RedisService, DBService string
	DBUser                               string // psql's -U; "postgres" when empty
	// Or directly: URLs (never printed; error messages are scrubbed of
	// them).
	RedisURL, DatabaseURL string
	Namespace             string // REDIS_NAMESPACE
	Timeout               time.Duration
}

func (s Source) redisArgv(args []string) []string {
	if s.RedisURL != "" {
		return append([]string{"redis-cli", "-u", s.RedisURL}, args...)
	}
	return append([]string{"docker", "compose", "-f", s.ComposeFile, "exec", "-T", s.RedisService, "redis-cli"}, args...)
}

func (s Source) psqlArgv() []string {
	if s.DatabaseURL != "" {
		return append([]string{"psql", s.DatabaseURL}, PsqlArgs...)
	}
	user := s.DBUser
	if user == "" {
		user = "postgres"
	}
	return append([]string{"docker", "compose", "-f", s.ComposeFile, "exec", "-T", s.DBService, "psql", "-U", user}, PsqlArgs...)
}

// CanReadRedis and CanReadPostgres say whether the source knows where
// they are.
func (s Source) CanReadRedis() bool    { return s.RedisURL != "" || s.RedisService != "" }
func (s Source) CanReadPostgres() bool { return s.DatabaseURL != "" || s.DBService != "" }

func (s Source) run(argv []string, stdin string) (string, error) {
	t := s.Timeout
	if t == 0 {
		t = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), t)
	defer cancel()
	out, err := s.Run(ctx, argv, stdin)
	if err != nil {
		return out, fmt.Errorf("%s", s.scrub(err.Error()))
	}
	return out, nil
}

// scrub keeps URLs (which may hold passwords) out of messages.
func (s Source) scrub(msg string) string {
	for _, u := range []string{s.RedisURL, s.DatabaseURL} {
		if u == "" {
			continue
		}
		msg = strings.ReplaceAll(msg, u, "<url>")
		if p, err := url.Parse(u); err == nil {
			if pw, ok := p.User.Password(); ok && pw != "" {
				msg = strings.ReplaceAll(msg, pw, "<password>")
			}
		}
	}
	return msg
}

// ReadSidekiq reads Sidekiq's state once: EVAL_RO where the server has
// it (Redis 7), EVAL (the script only reads) otherwise.
func (s Source) ReadSidekiq() (Sidekiq, error) {
	out, err := s.run(s.redisArgv(SidekiqArgs(s.Namespace, true)), "")
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "unknown command") || strings.Contains(strings.ToLower(out), "unknown command") {
		out, err = s.run(s.redisArgv(SidekiqArgs(s.Namespace, false)), "")
	}
	if err != nil {
		return Sidekiq{}, err
	}
	if strings.HasPrefix(strings.TrimSpace(out), "ERR") || strings.HasPrefix(strings.TrimSpace(out), "NOAUTH") {
		return Sidekiq{}, fmt.Errorf("%s", s.scrub(firstLine(out)))
	}
	return ParseSidekiq(out)
}

// ReadPostgres reads Postgres's connections once.
func (s Source) ReadPostgres(settings []string) (Postgres, error) {
	out, err := s.run(s.psqlArgv(), PostgresSQL(settings))
	if err != nil {
		return Postgres{}, err
	}
	return ParsePostgres(out)
}
