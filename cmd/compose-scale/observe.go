package main

import (
	"fmt"
	"path/filepath"
	"strings"
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
			// The instance runs the base and its override together: plan
			// as --override does, on both, when docker compose reads one.
			if _, override, err := instanceFiles(c, env); err == nil && override != "" && !c.Bool("override") {
				c.Set("override", "true")
			}
			res, _, _, err := plan(c, env)
			if err != nil {
				return err
			}
			o, inst, err := readInstance(c, env, res.Plan)
			if err != nil {
				return err
			}
			ctx := report.ObserveContext{File: strings.Join(inst.src.ComposeFiles, " + "), Via: inst.via, Memory: observedMemory(o, inst.services, res.Plan)}
			if err := report.WriteObservation(env.Stdout, c.String("format"), o, ctx); err != nil {
				return err
			}
			if o.Nothing() {
				return silentError{"nothing could be read"}
			}
			return nil
		},
	}
}

// instanceFiles are the files docker compose runs the instance from: the
// compose file and its override as docker compose reads them (found
// beside it, the second of COMPOSE_FILE, or --override's), so that
// services compose-scale wrote into an override are seen.
func instanceFiles(c *cli.Context, env Env) (base composeFile, override string, err error) {
	arg, err := oneFileArg(c)
	if err != nil {
		return base, "", err
	}
	base.display, base.path, override, err = findComposeFile(arg, env)
	if err != nil {
		return base, "", err
	}
	if c.Bool("override") && override == "" {
		if o := overrideBeside(base.display, env); fileExists(resolve(env.Dir, o)) {
			override = o
		}
	}
	return base, override, nil
}

// instance is the running instance as the compose files describe it.
type instance struct {
	src      observe.Source
	via      string
	sidekiq  []observe.Service
	services []planner.Service // base and override merged
}

// instanceSource finds how to reach the instance the compose files run.
func instanceSource(c *cli.Context, env Env) (instance, error) {
	var in instance
	f, override, err := instanceFiles(c, env)
	if err != nil {
		return in, err
	}
	src := observe.Source{Run: observe.Exec, RedisURL: c.String("redis"), DatabaseURL: c.String("database"), DBUser: c.String("db-user"), ComposeFiles: []string{f.display}}
	files := rewrite.Files{}
	if files.Base, err = readComposeText(f.display, f.path); err != nil {
		return in, err
	}
	if override != "" {
		src.ComposeFiles = append(src.ComposeFiles, override)
		over, err := readComposeText(override, resolve(env.Dir, override))
		if err != nil {
			return in, err
		}
		files.Override = &over
	}
	vars, _ := loadVars(c, env, f)
	readEnvFile := func(p string) ([]byte, error) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(f.path), p)
		}
		return readLimited(p, p)
	}
	files.Vars, files.ReadEnvFile = vars, readEnvFile
	list, services, err := rewrite.ReadServices(files)
	if err != nil {
		return in, err
	}
	ends, err := planner.FindEndpoints(services, c.String("db-service"))
	if err != nil {
		return in, err
	}
	src.RedisService, src.DBService, src.Namespace = ends.Redis, ends.DB, ends.Namespace
	redisDB := ""
	for i, s := range services {
		if planner.RoleOf(s) != planner.RoleSidekiq {
			continue
		}
		if len(in.sidekiq) == 0 && src.RedisURL == "" {
			// Sidekiq's database and login, as the first Sidekiq service
			// gets them (they all share one Redis: the plan copies them).
			login, err := rewrite.SidekiqRedisLogin(list[i], vars, readEnvFile)
			if err != nil {
				return in, err
			}
			src.RedisDB, src.RedisUser, src.RedisPassword = login.DB, login.User, login.Password
			if login.DB != 0 {
				redisDB = fmt.Sprintf(", database %d from %s", login.DB, login.From)
			}
		}
		os := observe.Service{Name: s.Name, Aliases: s.Aliases}
		if cmd, err := planner.ParseSidekiqCommand(s.Command); err == nil {
			for _, q := range cmd.Queues {
				os.Queues = append(os.Queues, q.Name)
				if q.Weight > 0 {
					if os.Weights == nil {
						os.Weights = map[string]int{}
					}
					os.Weights[q.Name] = q.Weight
				}
			}
		}
		in.sidekiq = append(in.sidekiq, os)
	}
	via := fmt.Sprintf("docker compose exec (Redis: %s%s, Postgres: %s)", orNone(src.RedisService), redisDB, orNone(src.DBService))
	switch {
	case src.RedisURL != "" && src.DatabaseURL != "":
		via = "--redis and --database"
	case src.RedisURL != "":
		via = fmt.Sprintf("--redis, and docker compose exec for Postgres (%s)", orNone(src.DBService))
	case src.DatabaseURL != "":
		via = fmt.Sprintf("--database, and docker compose exec for Redis (%s%s)", orNone(src.RedisService), redisDB)
	}
	in.src, in.via, in.services = src, via, services
	return in, nil
}

// readComposeText reads one compose file, named display in messages.
func readComposeText(display, path string) (compose.File, error) {
	text, err := readLimited(display, path)
	return compose.File{Path: display, Text: text}, err
}

func orNone(s string) string {
	if s == "" {
		return "none in the file"
	}
	return s
}

// readInstance observes for --sample, with a progress line on a terminal,
// and judges what it saw against the plan.
func readInstance(c *cli.Context, env Env, p *planner.Plan) (observe.Observation, instance, error) {
	inst, err := instanceSource(c, env)
	if err != nil {
		return observe.Observation{}, inst, err
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
	o := observe.Read(inst.src, samples, interval, names, progress)
	if progress != nil {
		fmt.Fprintln(env.Stderr)
	}
	o.PlannedSettings = planned
	o.Attribute(inst.sidekiq)
	o.Judge(p.Estimates.SidekiqProcess)
	return o, inst, nil
}

// observedMemory is the report's memory table: what the planner makes of
// the containers' readings, against its estimates.
func observedMemory(o observe.Observation, services []planner.Service, p *planner.Plan) []planner.MemoryRow {
	if len(o.Memory) == 0 {
		return nil
	}
	return planner.MeasuredMemory(&planner.Measured{Readings: o.Samples, ContainerMemory: o.Memory}, services, p)
}
