package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/helm"
	"github.com/compose-scale/compose-scale/machine"
	"github.com/compose-scale/compose-scale/planner"
	"github.com/compose-scale/compose-scale/report"
	"github.com/compose-scale/compose-scale/rewrite"
	"github.com/urfave/cli/v2"
)

func exportCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write the plan for an engine that runs it across machines",
		Subcommands: withUsageErrors(&cli.Command{
			Name:      "helm",
			Usage:     "values for Mastodon's official Helm chart, sized for the cluster's nodes",
			ArgsUsage: "[FILE]",
			Description: `Reads the compose file (its version, its layout, what it runs) and writes a
values file with the tuning keys alone, to layer over the release's own:

   helm upgrade REL mastodon/mastodon -f current.yaml -f compose-scale.yaml

Examples:
   compose-scale export helm --nodes 3 --node s-4vcpu-8gb --db-node s-4vcpu-16gb -o compose-scale.yaml
   compose-scale export helm --nodes 2 --node-memory 16GB --node-cpus 8 --max-connections 100
   compose-scale export helm --chart legacy --values current.yaml --nodes 3 --node s-8vcpu-16gb --db-node s-8vcpu-32gb`,
			Flags:  exportFlags(),
			Action: func(c *cli.Context) error { return exportHelm(c, env) },
		}, &cli.Command{
			Name:      "swarm",
			Usage:     "a docker stack deploy file, sized for the swarm's nodes",
			ArgsUsage: "[FILE]",
			Description: `Writes the compose file, with the plan applied, as a stack file: every
service with its replicas, resources, restart policy, placement by node role
and update order, and nothing docker stack deploy ignores or rejects.

   compose-scale export swarm --nodes 3 --node s-4vcpu-8gb --db-node s-4vcpu-16gb -o stack.yml
   docker stack deploy -c stack.yml mastodon`,
			Flags:  swarmFlags(),
			Action: func(c *cli.Context) error { return exportSwarm(c, env) },
		}),
	}
}

func exportFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.BoolFlag{Name: "observed", Usage: "read the running compose instance first (as observe does) and size the pods from what was measured: Sidekiq's, Puma's and streaming's memory, the queues' backlog"},
		&cli.IntFlag{Name: "nodes", Usage: "how many application `N`odes the cluster has", Value: 1},
		&cli.StringFlag{Name: "node", Usage: "each node's DigitalOcean size `SLUG`, like s-4vcpu-8gb"},
		&cli.StringFlag{Name: "node-memory", Usage: "each node's memory, like `8GB`"},
		&cli.IntFlag{Name: "node-cpus", Usage: "each node's `CPUs`"},
		&cli.StringFlag{Name: "db-node", Usage: "the database node's size `SLUG`"},
		&cli.StringFlag{Name: "db-node-memory", Usage: "the database node's memory, like `16GB`"},
		&cli.IntFlag{Name: "db-node-cpus", Usage: "the database node's `CPUs`"},
		&cli.IntFlag{Name: "max-connections", Usage: "a managed database's max_connections (instead of a database node)"},
		&cli.StringFlag{Name: "pgbouncer", Value: "auto", Usage: "PgBouncer (the pgbouncer chart) in front of the database: auto (when the pods would want more than 250 connections), on or off"},
		&cli.IntFlag{Name: "pgbouncer-replicas", Usage: "PgBouncer `PODS`", DefaultText: "2 from two nodes, else 1"},
		&cli.StringFlag{Name: "pgbouncer-values", Usage: "write the pgbouncer chart's values to `FILE` (needed when the plan has a pooler)"},
		&cli.StringFlag{Name: "pgbouncer-host", Value: "pgbouncer", Usage: "the pgbouncer release's Service `NAME`, which the pods connect to"},
		&cli.StringFlag{Name: "db-host", Usage: "the database's `HOST` (for migrations past the pooler)", DefaultText: "the release's postgresql.hostname"},
		&cli.StringFlag{Name: "cache-redis", Value: "auto", Usage: "a Redis of its own for Rails's cache: auto (from 16 GB of application memory), on or off"},
		&cli.StringFlag{Name: "cache-redis-host", Usage: "the cache Redis's Service `NAME` (needed when the plan has one)"},
		&cli.StringFlag{Name: "postgres-values", Usage: "write the database node's tuning to `FILE`, as a merge patch of a CloudNativePG Cluster"},
		&cli.StringFlag{Name: "chart", Value: string(helm.Current), Usage: "the chart: mastodon (mastodon/helm-charts) or legacy (mastodon/chart)"},
		&cli.StringFlag{Name: "values", Usage: "the release's current values (helm get values REL), for what the lists Helm replaces must keep"},
		&cli.StringFlag{Name: "mastodon-version", Usage: "the Mastodon `VERSION` the pods run", DefaultText: "the values' image.tag, else the chart's own"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the values to `FILE`", DefaultText: "stdout"},
		&cli.StringFlag{Name: "report", Usage: "write the report to `FILE`"},
		&cli.StringFlag{Name: "format", Value: "text", Usage: "report format: text, markdown or json"},
	}, append(sizingFlags(), observeFlags()...)...)
}

// swarmFlags are export's sizing flags; the Helm ones (chart, values,
// pooler) do not apply.
func swarmFlags() []cli.Flag {
	var out []cli.Flag
	skip := map[string]bool{"cache-redis-host": true, "chart": true, "values": true, "pgbouncer": true, "pgbouncer-replicas": true, "pgbouncer-values": true, "pgbouncer-host": true, "db-host": true, "postgres-values": true}
	for _, f := range exportFlags() {
		if !skip[f.Names()[0]] {
			out = append(out, f)
		}
	}
	return out
}

func exportSwarm(c *cli.Context, env Env) error {
	if err := checkFormat(c); err != nil {
		return err
	}
	cl, err := clusterFromFlags(c)
	if err != nil {
		return err
	}
	if cl.DB == nil {
		return usagef("export swarm runs Postgres in the stack: give its node with --db-node (or --db-node-memory and --db-node-cpus)")
	}
	// The stack runs without a pooler (the pools stay within 250): one
	// would be a service of its own, not planned here yet.
	// update_config parallelism 1, order start-first: one extra task
	// whatever the replicas.
	cl.Engine, cl.Pooler, cl.WebSurge, cl.StreamingSurge, cl.SurgeTasks = "Docker Swarm", planner.ToggleOff, 0, 0, 1
	cl.CacheRunnable = true // the stack runs the cache Redis the plan adds
	cp, files, f, err := planCluster(c, env, cl)
	if err != nil {
		return err
	}
	if files.Override != nil {
		return fmt.Errorf("%s: export swarm writes one stack file, and %s overrides it: merge them first (docker compose config > merged.yml), then export merged.yml", files.Base.Path, files.Override.Path)
	}
	st, err := rewrite.Stack(files, cp)
	if err != nil {
		return err
	}
	out := append([]byte("# Written by compose-scale export swarm from "+f.display+" for "+fmt.Sprint(cl.Nodes)+" application nodes of "+nodeLabel(c, "node")+" and a database node of "+nodeLabel(c, "db-node")+":\n#   docker stack deploy -c "+outName(c)+" mastodon\n"), st.Output...)
	cp.Notes = append(cp.Notes, st.Notes...)
	cp.Warnings = append(cp.Warnings, st.Warnings...)
	return writeExport(c, env, out, cp, f)
}

// nodeFlags reads a node's size from --PREFIX (a slug) or --PREFIX-memory
// and --PREFIX-cpus; ok is false when none is given.
func nodeFlags(c *cli.Context, prefix string) (planner.Machine, bool, error) {
	var m planner.Machine
	if slug := c.String(prefix); slug != "" {
		if c.IsSet(prefix+"-memory") || c.IsSet(prefix+"-cpus") {
			return m, false, usagef("--%s sets memory and CPUs: drop --%s-memory and --%s-cpus, or --%s", prefix, prefix, prefix, prefix)
		}
		cpus, mem, err := machine.ParseDroplet(slug)
		if err != nil {
			return m, false, usagef("--%s: %v", prefix, err)
		}
		return planner.Machine{MemoryBytes: mem, CPUs: cpus}, true, nil
	}
	if !c.IsSet(prefix+"-memory") && !c.IsSet(prefix+"-cpus") {
		return m, false, nil
	}
	mem, err := machine.ParseSize(c.String(prefix + "-memory"))
	if err != nil || !c.IsSet(prefix+"-memory") {
		return m, false, usagef("--%s-memory: give the memory, like 8GB (%v)", prefix, err)
	}
	if c.Int(prefix+"-cpus") < 1 {
		return m, false, usagef("--%s-cpus: give the CPUs, 1 or more", prefix)
	}
	return planner.Machine{MemoryBytes: mem, CPUs: c.Int(prefix + "-cpus")}, true, nil
}

// clusterFromFlags is the cluster the flags describe.
func clusterFromFlags(c *cli.Context) (planner.Cluster, error) {
	cl := planner.Cluster{Nodes: c.Int("nodes"), Engine: "Kubernetes", WebSurge: 0.1, StreamingSurge: 0.1, PoolerReplicas: c.Int("pgbouncer-replicas")}
	if v := c.String("cache-redis"); v != "" {
		cache, err := planner.ParseToggle("cache-redis", v)
		if err != nil {
			return cl, usageError{err}
		}
		cl.Cache = cache
	}
	if v := c.String("pgbouncer"); v != "" {
		pooler, err := planner.ParseToggle("pgbouncer", v)
		if err != nil {
			return cl, usageError{err}
		}
		cl.Pooler = pooler
	}
	if cl.Nodes < 1 {
		return cl, usagef("--nodes must be 1 or more")
	}
	node, ok, err := nodeFlags(c, "node")
	if err != nil {
		return cl, err
	}
	if !ok {
		return cl, usagef("give each node's size: --node SLUG, or --node-memory and --node-cpus")
	}
	cl.Node = node
	db, ok, err := nodeFlags(c, "db-node")
	if err != nil {
		return cl, err
	}
	if ok {
		cl.DB = &db
	}
	if c.IsSet("max-connections") {
		if ok {
			return cl, usagef("--max-connections is a managed database's: with a database node it is planned")
		}
		cl.MaxConnections = c.Int("max-connections")
	}
	if !ok && cl.MaxConnections == 0 {
		return cl, usagef("give the database: --db-node SLUG (or --db-node-memory and --db-node-cpus), or a managed database's --max-connections")
	}
	return cl, nil
}

func exportHelm(c *cli.Context, env Env) error {
	chart := helm.Chart(c.String("chart"))
	if chart != helm.Current && chart != helm.Legacy {
		return usagef("--chart %q: use mastodon or legacy", chart)
	}
	if err := checkFormat(c); err != nil {
		return err
	}
	cl, err := clusterFromFlags(c)
	if err != nil {
		return err
	}
	var given *planner.Version
	if v := c.String("mastodon-version"); v != "" {
		parsed, err := planner.ParseVersion(v)
		if err != nil {
			return usagef("--mastodon-version: %v", err)
		}
		given = &parsed
	}
	var current helm.Release
	if p := c.String("values"); p != "" {
		text, err := readLimited(p, resolve(env.Dir, p))
		if err != nil {
			return err
		}
		if current, err = helm.ReadValues(p, text); err != nil {
			return err
		}
	}
	cl.CacheRunnable = c.String("cache-redis-host") != "" || current.CacheHost != ""
	runs, source, warnings := helm.PodVersion(chart, given, current.ImageTag)
	cl.Runs, cl.RunsSource = &runs, source
	current.Warnings = append(current.Warnings, warnings...)
	cp, _, f, err := planCluster(c, env, cl)
	if err != nil {
		return err
	}
	cp.Warnings = append(cp.Warnings, current.Warnings...)
	if cp.CacheRedis != nil && !current.CacheAuth && chart == helm.Current {
		cp.Warnings = append(cp.Warnings, "the chart refuses redis.cache without redis.cache.password or redis.cache.existingSecret: set one in the release's values (compose-scale writes no secret)")
	}
	header := []string{
		fmt.Sprintf("Written by compose-scale export helm from %s: the tuning for %d nodes of %s, layered over the release's own values:", f.display, cl.Nodes, nodeLabel(c, "node")),
		"  helm upgrade REL " + chartRef(chart) + " -f current.yaml -f " + outName(c),
	}
	db := helm.Database{PoolerHost: c.String("pgbouncer-host"), Host: c.String("db-host"), Name: current.DBName, CacheHost: c.String("cache-redis-host")}
	if db.CacheHost == "" {
		db.CacheHost = current.CacheHost
	}
	if db.Host == "" {
		db.Host = current.DBHost
	}
	if cp.Pooler != nil && (c.String("pgbouncer-values") == "" || db.Host == "") {
		return fmt.Errorf("the pods would open %d connections, more than Postgres should hold: the plan puts PgBouncer (the pgbouncer chart) in front of it; give --pgbouncer-values FILE for its values and --db-host (or --values with postgresql.hostname) for the database, or --pgbouncer off", cp.Connections.Pods+cp.Connections.Surge)
	}
	out, err := helm.Values(cp, chart, current.Kept, db, header)
	if err != nil {
		return err
	}
	if cp.Pooler != nil {
		pv, err := helm.PoolerValues(cp, db, []string{
			"Written by compose-scale export helm: PgBouncer in front of " + db.Host + ", for the pgbouncer chart (mastodon/helm-charts charts/pgbouncer);",
			"its users (authFile) are the release's own. helm upgrade " + db.PoolerHost + " mastodon/pgbouncer -f " + filepath.Base(c.String("pgbouncer-values")),
		})
		if err != nil {
			return err
		}
		p := c.String("pgbouncer-values")
		if err := writeThrough(p, resolve(env.Dir, p), pv, 0o644, ""); err != nil {
			return err
		}
	}
	if p := c.String("postgres-values"); p != "" {
		pv, err := helm.PostgresPatch(cp, []string{
			"Written by compose-scale export helm: PGTune for the database node (" + nodeLabel(c, "db-node") + "), as a merge patch of a CloudNativePG Cluster:",
			"  kubectl patch cluster postgres --type merge --patch-file " + filepath.Base(p),
		})
		if err != nil {
			return err
		}
		if err := writeThrough(p, resolve(env.Dir, p), pv, 0o644, ""); err != nil {
			return err
		}
	}
	return writeExport(c, env, out, cp, f)
}

// writeExport writes what an export made to -o (the report then on
// stdout) or stdout (the report on stderr).
func writeExport(c *cli.Context, env Env, out []byte, cp *planner.ClusterPlan, f composeFile) error {
	reportTo := env.Stderr
	if o := c.String("output"); o != "" {
		if err := writeThrough(o, resolve(env.Dir, o), out, 0o644, ""); err != nil {
			return err
		}
		reportTo = env.Stdout
	} else if _, err := env.Stdout.Write(out); err != nil {
		return err
	}
	return writeClusterReport(c, env, reportTo, cp, report.Context{File: f.display, MachineSource: nodeLabel(c, "node")})
}

// planCluster reads the compose file and plans it for the cluster.
func planCluster(c *cli.Context, env Env, cl planner.Cluster) (*planner.ClusterPlan, rewrite.Files, composeFile, error) {
	files, f, err := readComposeFiles(c, env)
	if err != nil {
		return nil, files, f, err
	}
	in, err := plannerInput(c, planner.Machine{})
	if err != nil {
		return nil, files, f, err
	}
	_, services, err := rewrite.ReadServices(files)
	if err != nil {
		return nil, files, f, err
	}
	in.Services = services
	cp, err := planner.MakeCluster(in, cl)
	if err != nil && !strings.HasPrefix(err.Error(), "--") {
		// Say which file the plan could not be made from, as rewrite does.
		err = fmt.Errorf("%s: %w", files.Base.Path, err)
	}
	if err == nil && c.Bool("observed") {
		// Observe with the estimates' plan (for its findings), then plan
		// with what was measured: the requests follow the measured RSS.
		if o, _, err := readInstance(c, env, cp.Plan); err != nil {
			in.Measured = &planner.Measured{ReadError: err.Error()}
		} else {
			in.Measured = measuredFrom(o)
		}
		cp, err = planner.MakeCluster(in, cl)
	}
	return cp, files, f, err
}

func writeClusterReport(c *cli.Context, env Env, def io.Writer, cp *planner.ClusterPlan, ctx report.Context) error {
	var buf bytes.Buffer
	if err := report.WriteCluster(&buf, c.String("format"), cp, ctx); err != nil {
		return err
	}
	if p := c.String("report"); p != "" {
		return writeThrough(p, resolve(env.Dir, p), buf.Bytes(), 0o644, "")
	}
	_, err := def.Write(buf.Bytes())
	return err
}

func outName(c *cli.Context) string {
	if o := c.String("output"); o != "" {
		return filepath.Base(o)
	}
	return "compose-scale.yaml"
}

func chartRef(c helm.Chart) string {
	if c == helm.Legacy {
		return "mastodon/mastodon (mastodon/chart)"
	}
	return "mastodon/mastodon"
}

func nodeLabel(c *cli.Context, prefix string) string {
	if s := c.String(prefix); s != "" {
		return s
	}
	return fmt.Sprintf("%s, %d CPUs", c.String(prefix+"-memory"), c.Int(prefix+"-cpus"))
}

// readComposeFiles reads the compose file, the override beside it and the
// variables, for commands that plan from them without rewriting them; the
// files must load as docker compose loads them.
func readComposeFiles(c *cli.Context, env Env) (rewrite.Files, composeFile, error) {
	var r inputs
	if err := readFiles(c, env, &r); err != nil {
		return r.files, r.f, err
	}
	files := []compose.File{r.files.Base}
	if r.files.Override != nil {
		files = append(files, *r.files.Override)
	}
	// Our own parse first: its errors carry the line (FILE:LINE: what).
	for _, f := range files {
		if _, err := compose.Parse(f.Path, f.Text); err != nil {
			return r.files, r.f, err
		}
	}
	if _, err := compose.ValidateWith(r.files.Vars, files...); err != nil {
		return r.files, r.f, err
	}
	return r.files, r.f, nil
}

// checkHelmValues audits what a Helm release runs: exit 0 when it keeps
// the rules, 1 and what breaks them when not.
func checkHelmValues(c *cli.Context, env Env) error {
	chart := helm.Chart(c.String("chart"))
	if chart != helm.Current && chart != helm.Legacy {
		return usagef("--chart %q: use mastodon or legacy", chart)
	}
	p := c.String("helm-values")
	text, err := readLimited(p, resolve(env.Dir, p))
	if err != nil {
		return err
	}
	r, notes, err := helm.ReadRunning(p, text, chart)
	if err != nil {
		return err
	}
	r.MaxConnections = c.Int("max-connections")
	return printAudit(env, p, r, notes)
}

// checkSwarm audits a stack file.
func checkSwarm(c *cli.Context, env Env) error {
	p := c.String("swarm")
	text, err := readLimited(p, resolve(env.Dir, p))
	if err != nil {
		return err
	}
	r, err := rewrite.ReadRunning(rewrite.Files{Base: compose.File{Path: p, Text: text}})
	if err != nil {
		return err
	}
	if c.IsSet("max-connections") {
		r.MaxConnections = c.Int("max-connections")
	}
	return printAudit(env, p, r, []string{"Mastodon " + r.Version.String() + ": from the images"})
}

// printAudit says what check found, and exits 1 on a problem.
func printAudit(env Env, p string, r planner.Running, notes []string) error {
	a := planner.AuditRunning(r)
	limit := "give --max-connections to hold them against the database"
	if a.Limit > 0 {
		limit = fmt.Sprintf("the safe limit is %d of max_connections %d", a.Limit, r.MaxConnections)
	}
	verdict := "keeps the rules"
	if len(a.Problems) > 0 {
		verdict = "breaks the rules"
	}
	fmt.Fprintf(env.Stdout, "%s %s: %d connections (%s), %d process(es) on scheduler\n", p, verdict, a.Connections, limit, a.Schedulers)
	for _, n := range append(notes, a.Notes...) {
		fmt.Fprintf(env.Stdout, "  %s\n", n)
	}
	for _, pr := range a.Problems {
		fmt.Fprintf(env.Stdout, "  problem: %s\n", pr)
	}
	if len(a.Problems) > 0 {
		return errMismatch
	}
	return nil
}
