package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/observe"
	"github.com/compose-scale/compose-scale/planner"
	"github.com/compose-scale/compose-scale/report"
	"github.com/compose-scale/compose-scale/rewrite"
	"github.com/urfave/cli/v2"
)

// observeFlags say how to reach the running instance.
func observeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "redis", Usage: "read Sidekiq's Redis at `URL` directly instead of through docker compose (never printed)", EnvVars: []string{"COMPOSE_SCALE_REDIS_URL"}},
		&cli.StringFlag{Name: "database", Usage: "read Postgres at `URL` directly instead of through docker compose (never printed)", EnvVars: []string{"COMPOSE_SCALE_DATABASE_URL"}},
		&cli.StringFlag{Name: "db-user", Usage: "the Postgres `USER` psql connects as through docker compose", Value: "postgres"},
		&cli.DurationFlag{Name: "sample", Usage: "watch for `DURATION` (busy threads and queue growth are averages over it)"},
		&cli.DurationFlag{Name: "interval", Usage: "time between readings while sampling", Value: 5 * time.Second},
	}
}

func observeCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:      "observe",
		Usage:     "read the running instance's queues, Sidekiq processes and Postgres connections; say what to act on",
		ArgsUsage: "[FILE]",
		Description: `Reads, never writes: Sidekiq's state in Redis (queues, processes, retry,
scheduled and dead sets) and Postgres's connections, through docker compose
exec into the file's services, or directly with --redis and --database.
Exit 0 when something was read, 1 when nothing could be.

Examples:
   compose-scale observe
   compose-scale observe --sample 1m --format markdown
   compose-scale observe --redis "$REDIS_URL" --database "$DATABASE_URL"`,
		Flags: planFlags(),
		Action: func(c *cli.Context) error {
			res, _, f, err := plan(c, env)
			if err != nil {
				return err
			}
			o, via, err := readInstance(c, env, f, res.Plan)
			if err != nil {
				return err
			}
			if err := report.WriteObservation(env.Stdout, c.String("format"), o, report.ObserveContext{File: f.display, Via: via}); err != nil {
				return err
			}
			if o.Nothing() {
				return silentError{"nothing could be read"}
			}
			return nil
		},
	}
}

// instanceSource finds how to reach the instance the compose file runs.
func instanceSource(c *cli.Context, env Env, f composeFile) (observe.Source, string, []observe.Service, error) {
	src := observe.Source{Run: observe.Exec, RedisURL: c.String("redis"), DatabaseURL: c.String("database"), DBUser: c.String("db-user"), ComposeFile: f.display}
	text, err := readLimited(f.display, f.path)
	if err != nil {
		return src, "", nil, err
	}
	doc, err := compose.Parse(f.display, text)
	if err != nil {
		return src, "", nil, err
	}
	list, err := doc.Services()
	if err != nil {
		return src, "", nil, err
	}
	vars, _ := loadVars(c, env, f)
	readEnvFile := func(p string) ([]byte, error) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(f.path), p)
		}
		return readLimited(p, p)
	}
	services := rewrite.PlannerServices(list, vars, readEnvFile)
	ends, err := planner.FindEndpoints(services, c.String("db-service"))
	if err != nil {
		return src, "", nil, err
	}
	src.RedisService, src.DBService, src.Namespace = ends.Redis, ends.DB, ends.Namespace
	var sidekiq []observe.Service
	for _, s := range services {
		if !planner.IsSidekiq(s.Command) {
			continue
		}
		os := observe.Service{Name: s.Name, Aliases: s.Aliases}
		if cmd, err := planner.ParseSidekiqCommand(s.Command); err == nil {
			for _, q := range cmd.Queues {
				os.Queues = append(os.Queues, q.Name)
			}
		}
		sidekiq = append(sidekiq, os)
	}
	via := fmt.Sprintf("docker compose exec (Redis: %s, Postgres: %s)", orNone(src.RedisService), orNone(src.DBService))
	switch {
	case src.RedisURL != "" && src.DatabaseURL != "":
		via = "--redis and --database"
	case src.RedisURL != "":
		via = fmt.Sprintf("--redis, and docker compose exec for Postgres (%s)", orNone(src.DBService))
	case src.DatabaseURL != "":
		via = fmt.Sprintf("--database, and docker compose exec for Redis (%s)", orNone(src.RedisService))
	}
	return src, via, sidekiq, nil
}

func orNone(s string) string {
	if s == "" {
		return "none in the file"
	}
	return s
}

// readInstance observes for --sample, with a progress line on a terminal,
// and judges what it saw against the plan.
func readInstance(c *cli.Context, env Env, f composeFile, p *planner.Plan) (observe.Observation, string, error) {
	src, via, sidekiq, err := instanceSource(c, env, f)
	if err != nil {
		return observe.Observation{}, "", err
	}
	interval := c.Duration("interval")
	samples := 1
	if d := c.Duration("sample"); d > 0 && interval > 0 {
		samples = int(d/interval) + 1
	}
	var progress func(int, int)
	if env.IsTerminal != nil && env.IsTerminal() && samples > 1 {
		progress = func(done, of int) { fmt.Fprintf(env.Stderr, "\robserving: reading %d of %d", done, of) }
	}
	planned := map[string]string{}
	var names []string
	if p.Postgres != nil {
		for _, s := range p.Postgres.Settings {
			planned[s.Name] = s.Value
			names = append(names, s.Name)
		}
	}
	o := observe.Read(src, samples, interval, names, progress)
	if progress != nil {
		fmt.Fprintln(env.Stderr)
	}
	o.PlannedSettings = planned
	o.Attribute(sidekiq)
	o.Judge(p.Estimates.SidekiqProcess)
	return o, via, nil
}

// measuredFrom turns an observation into the planner's facts: the 90th
// percentile of the Sidekiq processes' RSS plus a fifth, and the backlog.
func measuredFrom(o observe.Observation) *planner.Measured {
	if o.Sidekiq == nil || len(o.Sidekiq.Processes) == 0 {
		return nil
	}
	m := &planner.Measured{Backlog: o.Backlog()}
	if p90 := o.RSSPercentile(90); p90 > 0 {
		m.SidekiqProcess = p90 + p90/5
		m.Source = fmt.Sprintf("the 90th percentile of %d readings of %d processes, %s, plus 20%% headroom", o.Samples, len(o.Sidekiq.Processes), planner.FormatBytes(p90))
	}
	return m
}
