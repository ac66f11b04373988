package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/internal/unidiff"
	"github.com/compose-scale/compose-scale/planner"
	"github.com/compose-scale/compose-scale/report"
	"github.com/compose-scale/compose-scale/rewrite"
	"github.com/urfave/cli/v2"
)

func rewriteCommand(env Env) *cli.Command {
	flags := append(planFlags(),
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the result to `FILE` instead of in place"},
		&cli.BoolFlag{Name: "dry-run", Usage: "print the diff and the report, write nothing"},
		colorFlag(),
	)
	return &cli.Command{
		Name:      "rewrite",
		Usage:     "rewrite the compose file for this machine, print the diff and the budget",
		ArgsUsage: "[FILE]",
		Description: `Plans the sidekiq split and every connection pool for the machine, prints a
unified diff of FILE on stdout and the budget report on stderr, then writes
FILE in place. The first rewrite keeps the original as FILE.orig.

Examples:
   compose-scale rewrite docker-compose.yml
   compose-scale rewrite --droplet s-4vcpu-8gb --dry-run docker-compose.yml
   compose-scale rewrite --strategy per-queue --format markdown --report plan.md`,
		Flags: flags,
		Action: func(c *cli.Context) error {
			res, ctx, f, err := plan(c, env)
			if err != nil {
				return err
			}
			// Write first: a failed write prints its error and no diff
			// of a change that did not happen.
			var wrote string
			if !c.Bool("dry-run") {
				if wrote, err = write(c, env, f, res); err != nil {
					return err
				}
			}
			if err := printDiff(c, env, f, res); err != nil {
				return err
			}
			fmt.Fprint(env.Stderr, wrote)
			return writeReport(c, env, env.Stderr, res, ctx)
		},
	}
}

func planCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:      "plan",
		Usage:     "print the plan and budget report for the compose file; write nothing",
		ArgsUsage: "[FILE]",
		Description: `Examples:
   compose-scale plan
   compose-scale plan --droplet s-8vcpu-16gb docker-compose.yml
   compose-scale plan --format json | jq .connections`,
		Flags: planFlags(),
		Action: func(c *cli.Context) error {
			res, ctx, _, err := plan(c, env)
			if err != nil {
				return err
			}
			return writeReport(c, env, env.Stdout, res, ctx)
		},
	}
}

func checkCommand(env Env) *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "exit 0 if the compose file matches the plan for this machine, else 1 and say what differs",
		ArgsUsage: "[FILE]",
		Description: `For CI on a repository that holds the compose file, or a cron job after a
resize. Writes nothing.

Examples:
   compose-scale check
   compose-scale check --droplet s-8vcpu-16gb docker-compose.yml
   compose-scale check --diff && echo "nothing to do"`,
		Flags: append(planFlags(),
			&cli.BoolFlag{Name: "diff", Usage: "also print the diff that rewrite would make"},
			&cli.StringFlag{Name: "helm-values", Usage: "audit a Helm release's values `FILE` (helm get values REL) instead of a compose file: its connections against --max-connections, its schedulers, its queues"},
			&cli.StringFlag{Name: "chart", Value: "mastodon", Usage: "with --helm-values: the chart, mastodon or legacy"},
			&cli.StringFlag{Name: "swarm", Usage: "audit a Docker Swarm stack `FILE` instead: its connections against its db's max_connections, its schedulers, its queues"},
			colorFlag(),
		),
		Action: func(c *cli.Context) error {
			if c.String("helm-values") != "" {
				return checkHelmValues(c, env)
			}
			if c.String("swarm") != "" {
				return checkSwarm(c, env)
			}
			res, ctx, f, err := plan(c, env)
			if err != nil {
				return err
			}
			diffs, err := res.Differences(f.display)
			if err != nil {
				return err
			}
			over := overBudget(res)
			if !res.Changed() && len(over) == 0 {
				fmt.Fprintf(env.Stdout, "%s matches the plan for %s\n", f.display, machineLine(res, ctx))
				return nil
			}
			fmt.Fprintf(env.Stdout, "%s does not match the plan for %s:\n", f.display, machineLine(res, ctx))
			for _, d := range append(diffs, over...) {
				fmt.Fprintf(env.Stdout, "  %s\n", d)
			}
			if res.Changed() && len(diffs) == 0 {
				fmt.Fprintln(env.Stdout, "  (the same services and numbers, written differently: see --diff)")
			}
			if c.Bool("diff") {
				fmt.Fprintln(env.Stdout)
				if err := printDiff(c, env, f, res); err != nil {
					return err
				}
			}
			return errMismatch
		},
	}
}

// errMismatch makes check exit 1 after it has said why.
var errMismatch = silentError{"the file does not match the plan: run compose-scale rewrite"}

// overBudget lists what breaks the budget of a plan.
func overBudget(res *rewrite.Result) []string {
	var out []string
	b := res.Plan.Budget
	if b.Connections.Total > b.Connections.Limit {
		out = append(out, fmt.Sprintf("connections: the pools use %d, above the safe %d for max_connections %d", b.Connections.Total, b.Connections.Limit, b.Connections.MaxConnections))
	}
	if b.Memory.HeadroomBytes < 0 {
		out = append(out, fmt.Sprintf("memory: the estimates need %d MB more than the machine has", -b.Memory.HeadroomBytes/planner.MiB))
	}
	return out
}

func machineLine(res *rewrite.Result, ctx report.Context) string {
	m := res.Plan.Machine
	return fmt.Sprintf("%d CPUs, %s (%s)", m.CPUs, planner.FormatBytes(m.MemoryBytes), ctx.MachineSource)
}

func colorFlag() cli.Flag {
	return &cli.StringFlag{Name: "color", Value: "auto", Usage: "colour the diff: auto (on a terminal, unless NO_COLOR is set), always or never"}
}

// printDiff writes the diff, coloured as --color and NO_COLOR say.
func printDiff(c *cli.Context, env Env, f composeFile, res *rewrite.Result) error {
	d := unidiff.Unified(f.display, f.display, string(res.Input), string(res.Output))
	var color bool
	switch c.String("color") {
	case "always":
		color = true
	case "never":
	case "auto":
		color = env.Getenv("NO_COLOR") == "" && env.IsTerminal != nil && env.IsTerminal()
	default:
		return usagef("unknown --color %q: use auto, always or never", c.String("color"))
	}
	if color {
		d = unidiff.Colorize(d)
	}
	_, err := io.WriteString(env.Stdout, d)
	return err
}

// sourceVersion reads lib/mastodon/version.rb from the build context of
// the sidekiq service (a file that builds Mastodon from source), else from
// beside the compose file.
func sourceVersion(composePath string, src []byte) *planner.Version {
	dir := filepath.Dir(composePath)
	contexts := append(rewrite.SidekiqBuildContexts(compose.File{Path: composePath, Text: src}), ".")
	for _, c := range contexts {
		if !filepath.IsAbs(c) {
			c = filepath.Join(dir, c)
		}
		p := filepath.Join(c, "lib", "mastodon", "version.rb")
		b, err := readLimited(p, p)
		if err != nil {
			continue
		}
		if v, ok := planner.VersionFromRuby(string(b)); ok {
			return &v
		}
	}
	return nil
}

// loadVars reads the variables docker compose would interpolate the file
// with: --env-file, else .env beside the compose file (none is fine), with
// the process environment over them.
func loadVars(c *cli.Context, env Env, f composeFile) (*compose.Vars, error) {
	display, path := filepath.Join(filepath.Dir(f.display), ".env"), filepath.Join(filepath.Dir(f.path), ".env")
	named := c.String("env-file")
	if named != "" {
		display, path = named, resolve(env.Dir, named)
	}
	text, err := readLimited(display, path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && named == "":
		display, text = "", nil
	default:
		return nil, fmt.Errorf("%s: cannot read it (%v): name a readable file with --env-file", display, unwrapPath(err))
	}
	return compose.NewVars(display, text, env.lookupEnv)
}

// composeFile is the file a command works on.
type composeFile struct {
	display, path string // as the user named it; as opened
	mode          os.FileMode
	created       bool   // a new file (an override written for the first time)
	ownerOf       string // a new file takes this file's owner: the compose file's
}

// overrideBeside is the override file docker compose reads beside file:
// the one that exists, else the first name it looks for.
func overrideBeside(file string, env Env) string {
	dir, base := filepath.Dir(file), filepath.Base(file)
	names := compose.OverrideNames[base]
	if len(names) == 0 {
		names = []string{"docker-compose.override.yml"}
	}
	for _, n := range names {
		if p := filepath.Join(dir, n); fileExists(resolve(env.Dir, p)) {
			return p
		}
	}
	return filepath.Join(dir, names[0])
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// dockerComposeVersionNote says whether the docker compose here reads the
// merge tags an override may use (a note, not a refusal: the file may be
// run elsewhere).
func dockerComposeVersionNote() string {
	want := rewrite.MergeTagsVersion
	docker, err := exec.LookPath("docker")
	if err != nil {
		return fmt.Sprintf("docker is not on this machine's PATH: check that the one that runs these files is docker compose %s or later (docker compose version)", want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, docker, "compose", "version", "--short").Output()
	v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	if err != nil || v == "" {
		return fmt.Sprintf("docker compose version could not be read here: check that it is %s or later", want)
	}
	if versionLess(v, want) {
		return fmt.Sprintf("docker compose here is %s: the override needs %s or later (its merge tags); upgrade docker compose before docker compose up", v, want)
	}
	return fmt.Sprintf("docker compose here is %s: it reads the override's merge tags (%s or later)", v, want)
}

// versionLess compares dotted versions numerically.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(strings.TrimFunc(pa[i], func(r rune) bool { return r < '0' || r > '9' }))
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// plan runs the pipeline for a command: find and read the file, size the
// machine, rewrite in memory.
func plan(c *cli.Context, env Env) (*rewrite.Result, report.Context, composeFile, error) {
	r, err := readInputs(c, env)
	if err != nil {
		return nil, report.Context{}, r.f, err
	}
	in := r.in
	rewriteAll := func(in planner.Input) (*rewrite.Result, error) {
		if c.Bool("override") {
			return rewrite.RewriteOverride(r.files, r.override, in)
		}
		return rewrite.RewriteFiles(r.files, in)
	}
	// A file that does not say which Mastodon it runs: ask the instance
	// before planning for every release.
	if first, err := rewriteAll(in); err == nil && in.Version == nil && first.Plan.Version == planner.UnknownVersion {
		in.InstanceVersion, in.InstanceSource = askVersion(c, env)
	}
	if c.Bool("observed") {
		// Observe first (with the estimates' plan for the findings), then
		// plan with what was measured.
		if first, err := rewriteAll(in); err == nil {
			if o, _, err := readInstance(c, env, first.Plan); err != nil {
				in.Measured = &planner.Measured{ReadError: err.Error()}
			} else {
				in.Measured = measuredFrom(o)
			}
		}
	}
	res, err := rewriteAll(in)
	if err != nil {
		return nil, report.Context{}, r.f, err
	}
	ctx := report.Context{File: r.f.display, MachineSource: r.source, MachineNotes: r.machineNotes}
	written := r.f
	switch {
	case c.Bool("override"):
		res.Notes = append(res.Notes, dockerComposeVersionNote())
		ctx.File = r.f.display + " + " + r.override
		written = composeFile{display: r.override, path: resolve(env.Dir, r.override), mode: r.f.mode, created: r.files.Override == nil, ownerOf: r.f.path}
		if r.files.Override != nil {
			written = r.of
		}
	case r.files.Override != nil && res.Path == r.of.display:
		written = r.of // the sidekiq service lives in the override: that is the file written
		ctx.File = r.of.display
	}
	return res, ctx, written, nil
}

// inputs are what a command reads before planning: the compose file and
// its override, the variables, the machine and the planner's input.
type inputs struct {
	f, of        composeFile // the compose file; its override when there is one
	override     string      // the override's name ("" for none)
	files        rewrite.Files
	in           planner.Input
	source       string // where the machine's size came from
	machineNotes []string
}

// readInputs finds and reads the files and sizes the machine.
func readInputs(c *cli.Context, env Env) (inputs, error) {
	var r inputs
	err := checkFormat(c)
	var m planner.Machine
	if err == nil {
		m, r.source, r.machineNotes, err = machineFromFlags(c, env)
	}
	if err == nil {
		r.in, err = plannerInput(c, m)
	}
	if err == nil {
		err = readFiles(c, env, &r)
	}
	if err != nil {
		return r, err
	}
	if r.in.Version == nil {
		r.in.SourceVersion = sourceVersion(r.f.path, r.files.Base.Text)
	}
	return r, nil
}

// readFiles finds and reads the compose file, the override docker
// compose reads beside it, and the variables.
func readFiles(c *cli.Context, env Env, r *inputs) error {
	arg, err := oneFileArg(c)
	if err != nil {
		return err
	}
	if r.f.display, r.f.path, r.override, err = findComposeFile(arg, env); err != nil {
		return err
	}
	src, mode, err := readComposeFile(r.f.display, r.f.path)
	if err != nil {
		return err
	}
	r.f.mode = mode
	var over *compose.File
	if c.Bool("override") && r.override == "" {
		// The override docker compose reads beside the file: the one
		// there, else the first name it looks for.
		r.override = overrideBeside(r.f.display, env)
	}
	if r.override != "" && (!c.Bool("override") || fileExists(resolve(env.Dir, r.override))) {
		r.of = composeFile{display: r.override, path: resolve(env.Dir, r.override)}
		text, mode, err := readComposeFile(r.of.display, r.of.path)
		if err != nil {
			return err
		}
		r.of.mode = mode
		over = &compose.File{Path: r.of.display, Text: text}
	}
	vars, err := loadVars(c, env, r.f)
	if err != nil {
		return err
	}
	// env_files are read for the connection keys alone (compose filters
	// them before the planner sees them), from the compose file's folder.
	dir := filepath.Dir(r.f.path)
	readEnvFile := func(p string) ([]byte, error) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return readLimited(p, p)
	}
	r.files = rewrite.Files{Base: compose.File{Path: r.f.display, Text: src, Dir: dir}, Override: over, Vars: vars, ReadEnvFile: readEnvFile}
	return nil
}

// write writes the result and returns the line to tell the user. The
// file written is locked while it is checked and replaced, and it must
// still be what the plan was made from: of two rewrites at once, the
// second refuses instead of replacing the first's plan with one made
// from the file before it.
func write(c *cli.Context, env Env, f composeFile, res *rewrite.Result) (string, error) {
	if o := c.String("output"); o != "" {
		if err := writeThrough(o, resolve(env.Dir, o), res.Output, f.mode, f.ownerOf); err != nil {
			return "", err
		}
		return fmt.Sprintf("wrote %s\n\n", o), nil
	}
	return commit(f, res)
}

// commit writes the rewritten file in place (see write).
func commit(f composeFile, res *rewrite.Result) (string, error) {
	if !res.Changed() {
		return fmt.Sprintf("%s already matches the plan: nothing to write\n\n", f.display), nil
	}
	unlock, err := lockDir(filepath.Dir(f.path))
	if err != nil {
		return "", fmt.Errorf("%s: cannot lock its directory against another compose-scale (%v): nothing was written", f.display, err)
	}
	defer unlock()
	now, err := os.ReadFile(f.path)
	switch {
	case f.created && err == nil, !f.created && (err != nil || string(now) != string(res.Input)):
		return "", fmt.Errorf("%s changed while compose-scale was planning (another compose-scale, or an editor): nothing was written; run compose-scale again", f.display)
	}
	if f.created {
		// A new override takes the compose file's mode and owner: it is
		// as private as the file it overrides.
		if err := writeThrough(f.display, f.path, res.Output, f.mode, f.ownerOf); err != nil {
			return "", err
		}
		return fmt.Sprintf("wrote %s (new; the compose file itself is not touched)\n\n", f.display), nil
	}
	orig, err := keepOrig(f.display, f.path, res.Input, f.mode)
	if err != nil {
		return "", err
	}
	if err := writeThrough(f.display, f.path, res.Output, f.mode, f.path); err != nil {
		return "", err
	}
	if orig != "" {
		return fmt.Sprintf("wrote %s (the original is kept as %s)\n\n", f.display, orig), nil
	}
	return fmt.Sprintf("wrote %s\n\n", f.display), nil
}

func writeReport(c *cli.Context, env Env, def io.Writer, res *rewrite.Result, ctx report.Context) error {
	var buf bytes.Buffer
	ctx.ReadWarnings, ctx.FileNotes, ctx.FileWarnings = res.ReadWarnings, res.Notes, res.Warnings
	if err := report.Write(&buf, c.String("format"), res.Plan, ctx); err != nil {
		return err
	}
	if p := c.String("report"); p != "" {
		return writeThrough(p, resolve(env.Dir, p), buf.Bytes(), 0o644, "")
	}
	_, err := def.Write(buf.Bytes())
	return err
}
