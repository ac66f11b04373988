package main

import (
	"fmt"
	"strings"

	"github.com/compose-scale/compose-scale/machine"
	"github.com/compose-scale/compose-scale/planner"
	"github.com/compose-scale/compose-scale/report"
	"github.com/urfave/cli/v2"
)

// planFlags are the flags every command that plans takes.
func planFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "memory", Usage: "the machine's memory, like `8GB`, 7.5GiB or 8192MB", DefaultText: "measured"},
		&cli.IntFlag{Name: "cpus", Usage: "the machine's `CPUs`", DefaultText: "measured"},
		&cli.StringFlag{Name: "droplet", Usage: "a DigitalOcean size `SLUG` such as s-4vcpu-8gb: sets memory and CPUs"},
		&cli.IntFlag{Name: "max-connections", Usage: "Postgres max_connections to plan within (at most 250 without PgBouncer)", DefaultText: "planned"},
		&cli.StringFlag{Name: "mastodon-version", Usage: "the Mastodon `VERSION`, like v4.3", DefaultText: "read from the image tag"},
		&cli.StringFlag{Name: "db-memory", Usage: "the memory Postgres may use, like `4GB`", DefaultText: "half the machine"},
		&cli.Float64Flag{Name: "db-memory-share", Usage: "the `FRACTION` of the machine's memory Postgres may use", Value: 0.5},
		&cli.BoolFlag{Name: "observed", Usage: "read the running instance first (as observe does) and plan with what was measured: Sidekiq's memory, the queues' backlog"},
		&cli.BoolFlag{Name: "override", Usage: "write the plan into the override file docker compose reads beside the compose file (created if missing); the compose file itself is never written"},
		&cli.StringFlag{Name: "pgbouncer", Value: "auto", Usage: "PgBouncer in transaction mode in front of Postgres: auto (when the pools would not fit under 250 connections), on or off"},
		&cli.StringFlag{Name: "cache-redis", Value: "auto", Usage: "a Redis of its own for Rails's cache: auto (from 16 GB), on or off"},
		&cli.StringFlag{Name: "db-service", Usage: "the `SERVICE` that is the app's Postgres", DefaultText: "the one DB_HOST names, else the one the app depends on"},
		&cli.BoolFlag{Name: "keep-db-port", Usage: "keep a published db or redis port, bound to 127.0.0.1, for connecting from the host"},
		&cli.StringFlag{Name: "report", Usage: "write the report to `FILE`"},
		&cli.StringFlag{Name: "format", Value: "text", Usage: "report format: text, markdown or json"},
	}, append(sizingFlags(), observeFlags()...)...)
}

// sizingFlags are the flags every planning command takes: the split,
// PGTune's workload, the memory estimates, where variables come from.
func sizingFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "strategy", Value: "auto", Usage: "how to split sidekiq: auto, per-queue, permuted or weighted"},
		&cli.StringFlag{Name: "db-type", Usage: "PGTune workload `TYPE`: oltp or web", Value: "oltp"},
		&cli.StringFlag{Name: "estimate-sidekiq", Usage: "memory of one Sidekiq process, like `600MB`", DefaultText: "350MB"},
		&cli.StringFlag{Name: "estimate-puma", Usage: "memory of one Puma process, like `400MB`", DefaultText: "300MB"},
		&cli.StringFlag{Name: "estimate-streaming", Usage: "memory of one streaming process, like `150MB`", DefaultText: "100MB"},
		&cli.StringFlag{Name: "estimate-redis", Usage: "memory of Redis, like `1GB`", DefaultText: "a 32nd of the machine, 64MB to 512MB"},
		&cli.StringFlag{Name: "estimate-search", Usage: "memory of Elasticsearch/OpenSearch, like `2GB`", DefaultText: "twice its -Xmx heap, else 1GB"},
		&cli.StringFlag{Name: "env-file", Usage: "read variables for interpolation from `FILE`, as docker compose --env-file does", DefaultText: ".env beside the compose file"},
	}
}

// machineFromFlags returns the machine and where its size came from.
func machineFromFlags(c *cli.Context, env Env) (planner.Machine, string, []string, error) {
	var m planner.Machine
	var source []string
	if slug := c.String("droplet"); slug != "" {
		if c.IsSet("memory") || c.IsSet("cpus") {
			return m, "", nil, usagef("--droplet sets memory and CPUs: drop --memory and --cpus, or --droplet")
		}
		cpus, mem, err := machine.ParseDroplet(slug)
		if err != nil {
			return m, "", nil, usageError{err}
		}
		return planner.Machine{MemoryBytes: mem, CPUs: cpus}, "from --droplet " + slug, nil, nil
	}
	if s := c.String("memory"); s != "" {
		mem, err := machine.ParseSize(s)
		if err != nil {
			return m, "", nil, usagef("--memory: %v", err)
		}
		m.MemoryBytes = mem
		source = append(source, "--memory")
	}
	if c.IsSet("cpus") {
		if c.Int("cpus") < 1 {
			return m, "", nil, usagef("--cpus must be 1 or more")
		}
		m.CPUs = c.Int("cpus")
		source = append(source, "--cpus")
	}
	if m.MemoryBytes > 0 && m.CPUs > 0 {
		return m, "from " + strings.Join(source, " and "), nil, nil
	}
	measured, err := env.Detect()
	if err != nil {
		return m, "", nil, err
	}
	label := "measured"
	if m.MemoryBytes == 0 {
		m.MemoryBytes = measured.MemoryBytes
	} else {
		label = "memory from --memory, CPUs measured"
	}
	if m.CPUs == 0 {
		m.CPUs = measured.CPUs
	} else {
		label = "CPUs from --cpus, memory measured"
	}
	return m, label, measured.Notes, nil
}

// plannerInput turns the flags into the planner's input (services are
// filled in from the file later).
func plannerInput(c *cli.Context, m planner.Machine) (planner.Input, error) {
	in := planner.Input{Machine: m, KeepDBPort: c.Bool("keep-db-port"), DBService: c.String("db-service")}
	st, err := planner.ParseStrategy(c.String("strategy"))
	if err != nil {
		return in, usageError{err}
	}
	in.Strategy = st
	for _, f := range []struct {
		name string
		into *planner.Toggle
	}{{"pgbouncer", &in.PgBouncer}, {"cache-redis", &in.CacheRedis}} {
		if c.String(f.name) == "" {
			continue // a command without the flag (export): auto
		}
		t, err := planner.ParseToggle(f.name, c.String(f.name))
		if err != nil {
			return in, usageError{err}
		}
		*f.into = t
	}
	if c.IsSet("max-connections") {
		n := c.Int("max-connections")
		if n < 1 {
			return in, usagef("--max-connections must be a positive number")
		}
		in.MaxConnections = n
	}
	if s := c.String("mastodon-version"); s != "" {
		v, err := planner.ParseVersion(s)
		if err != nil {
			return in, usagef("--mastodon-version: %v", err)
		}
		in.Version = &v
	}
	if s := c.String("db-memory"); s != "" {
		b, err := machine.ParseSize(s)
		if err != nil {
			return in, usagef("--db-memory: %v", err)
		}
		if b >= m.MemoryBytes {
			return in, usagef("--db-memory %s is not less than the machine's %s", s, planner.FormatBytes(m.MemoryBytes))
		}
		in.DBMemory = b
	}
	if c.IsSet("db-memory-share") {
		if c.IsSet("db-memory") {
			return in, usagef("--db-memory and --db-memory-share both set the memory Postgres gets: give one")
		}
		f := c.Float64("db-memory-share")
		if f <= 0 || f >= 1 {
			return in, usagef("--db-memory-share %v must be between 0 and 1, like 0.5", f)
		}
		in.DBMemoryShare = f
	}
	for flag, field := range map[string]*int64{
		"estimate-sidekiq": &in.Estimates.SidekiqProcess, "estimate-puma": &in.Estimates.PumaProcess,
		"estimate-streaming": &in.Estimates.StreamingProcess, "estimate-redis": &in.Estimates.Redis,
		"estimate-search": &in.Estimates.Search,
	} {
		if s := c.String(flag); s != "" {
			b, err := machine.ParseSize(s)
			if err != nil {
				return in, usagef("--%s: %v", flag, err)
			}
			*field = b
		}
	}
	switch t := planner.DBType(c.String("db-type")); t {
	case planner.OLTP, planner.Web:
		in.DBType = t
	default:
		return in, usagef("unknown --db-type %q: use oltp or web", t)
	}
	return in, nil
}

func checkFormat(c *cli.Context) error {
	f := c.String("format")
	for _, ok := range report.Formats {
		if f == ok {
			return nil
		}
	}
	return usagef("unknown --format %q: use one of %s", f, strings.Join(report.Formats, ", "))
}

func oneFileArg(c *cli.Context) (string, error) {
	switch c.NArg() {
	case 0:
		return "", nil
	case 1:
		return c.Args().First(), nil
	}
	return "", usagef("%s takes one compose file, got %d arguments: %s", c.Command.Name, c.NArg(), fmt.Sprint(c.Args().Slice()))
}
