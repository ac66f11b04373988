// Package rewrite is the one-way pipeline behind every command: compose
// (read), planner (decide), compose (apply), compose-go (validate). It does
// no file I/O of its own: the caller reads and writes.
package rewrite

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/planner"
)

// Result is a planned rewrite.
type Result struct {
	Plan   *planner.Plan
	Path   string // the file rewritten (with an override, the one defining sidekiq)
	Input  []byte
	Output []byte
	// What the writer says of the files, apart from the plan (which it
	// never changes): compose's own warnings on reading them, shown
	// before the plan's; then notes and warnings on what was written
	// where, shown after the plan's.
	ReadWarnings    []string
	Notes, Warnings []string
}

// Changed reports whether the rewrite changes the file.
func (r *Result) Changed() bool { return string(r.Input) != string(r.Output) }

// Rewrite plans the compose file text src (named path in messages) for the
// input's machine and options, and returns the rewritten text. in.Services
// is filled from the file.
func Rewrite(path string, src []byte, in planner.Input) (*Result, error) {
	return RewriteWithOverride(compose.File{Path: path, Text: src}, nil, in)
}

// RewriteWithOverride plans base and the override file docker compose reads
// beside it (nil for none) together, as compose merges them, and rewrites
// the one file that defines the sidekiq service: Result.Path says which.
// Changes to services the other file defines are not made; edits the
// override would mask are warnings.
func RewriteWithOverride(base compose.File, override *compose.File, in planner.Input) (*Result, error) {
	return RewriteFiles(Files{Base: base, Override: override}, in)
}

// Files are what a rewrite reads: the compose file, the override docker
// compose reads beside it, and what it interpolates them with.
type Files struct {
	Base     compose.File
	Override *compose.File // nil for none
	// Vars are .env's values and the environment's, for reading the
	// version, comparing and validating; nil gives every variable a
	// placeholder. Nothing interpolated is written.
	Vars *compose.Vars
	// ReadEnvFile reads a service's env_file (its path as the file
	// writes it, relative to the compose file) for compose's
	// connection keys alone (connfacts.go); nil reads none.
	ReadEnvFile func(path string) ([]byte, error)
}

// RewriteFiles is RewriteWithOverride with variables.
func RewriteFiles(f Files, in planner.Input) (*Result, error) {
	files := []compose.File{f.Base}
	override := f.Override
	if override != nil {
		files = append(files, *override)
	}
	// compose-go's verdict on the input comes in while the file is parsed,
	// planned and edited (all pure work). Which error is shown: a YAML
	// error from our own parse (it has the line), then compose-go's, then
	// the plan's.
	type verdictOf struct {
		warnings []string
		err      error
	}
	verdict := make(chan verdictOf, 1)
	go func() {
		w, err := compose.ValidateWith(f.Vars, files...)
		verdict <- verdictOf{w, err}
	}()
	res, check, err := rewriteFiles(files, f.Vars, f.ReadEnvFile, in)
	var yamlErr *compose.Error
	if err != nil && errors.As(err, &yamlErr) && strings.Contains(yamlErr.Msg, "invalid YAML") {
		return nil, err
	}
	v := <-verdict
	if v.err != nil {
		return nil, v.err
	}
	if err != nil {
		return nil, err
	}
	res.ReadWarnings = v.warnings
	if _, err := compose.ValidateWith(f.Vars, check...); err != nil {
		if override != nil && strings.Contains(err.Error(), "undefined service") {
			// The other file names a service the rewrite renamed.
			other := f.Base.Path
			if res.Path == f.Base.Path {
				other = override.Path
			}
			return nil, fmt.Errorf("%s: it refers to a service the rewrite of %s renames or removes (%v): change the reference there, then run compose-scale again; nothing was written", other, res.Path, err)
		}
		return nil, fmt.Errorf("internal error: the rewritten file would not load (%v); nothing was written, please report this with your compose file", err)
	}
	return res, nil
}

// rewriteFiles is the pipeline's own work: parse, plan, edit. It returns
// the files as they will be, for the caller to load with compose-go.
func rewriteFiles(files []compose.File, vars *compose.Vars, readEnvFile func(string) ([]byte, error), in planner.Input) (*Result, []compose.File, error) {
	base := files[0]
	var override *compose.File
	if len(files) > 1 {
		override = &files[1]
	}
	original := files[0].Text
	restored := false
	if override == nil {
		// Services a shrink merged come back before planning (comeback.go).
		files = append([]compose.File(nil), files...)
		files[0].Text, restored = restoreKept(files[0].Path, files[0].Text)
	}
	docs := make([]*compose.Document, len(files))
	services := make([][]compose.Service, len(files))
	for i, f := range files {
		doc, err := compose.Parse(f.Path, f.Text)
		if err != nil {
			return nil, nil, err
		}
		if services[i], err = doc.Services(); err != nil {
			return nil, nil, err
		}
		docs[i] = doc
	}
	merged := services[0]
	if override != nil {
		merged = compose.Merge(services[0], services[1])
	}
	if vars != nil {
		in.VarsSource = "the environment"
		if vars.DotEnv != "" {
			in.VarsSource = vars.DotEnv + " and the environment"
		}
	}
	in.Services = PlannerServices(merged, vars, readEnvFile)
	plan, err := planner.Make(in)
	if err != nil {
		return nil, nil, placeError(docs, err)
	}
	res := &Result{}

	// The file to write: the one that defines the sidekiq services.
	target := 0
	if override != nil {
		target = 1
		for _, s := range services[0] {
			if planner.IsSidekiq(s.Command) {
				target = 0
			}
		}
		res.Notes = append(res.Notes, fmt.Sprintf("read %s and %s together, as docker compose does; wrote only %s, where the sidekiq service is defined", base.Path, override.Path, files[target].Path))
	}
	changes := plan.Changes
	if override != nil {
		// A service the other file also defines cannot be renamed or
		// removed here: the other file's entry would outlive it.
		for _, c := range changes {
			if c.Kind != planner.Rename && c.Kind != planner.Remove {
				continue
			}
			for _, o := range services[1-target] {
				if o.Name == c.Service {
					what := "removes it"
					if c.Kind == planner.Rename {
						what = "renames it " + c.To
					}
					return nil, nil, &compose.Error{Path: files[1-target].Path, Line: o.Line, Msg: fmt.Sprintf("also defines %s, and the rewrite of %s %s: move these settings into %s (or into an anchor both use), then run compose-scale again", c.Service, files[target].Path, what, files[target].Path)}
				}
			}
		}
		changes = keepTargetChanges(&res.Warnings, changes, services[target], services[1-target], files[target].Path, files[1-target].Path, target == 0)
		changes = portsInTarget(&res.Warnings, changes, services[0], target, files)
	}
	if err := applyAll(docs[target], changes); err != nil {
		return nil, nil, err
	}
	if override == nil {
		if err := markAdded(docs[target], plan); err != nil {
			return nil, nil, err
		}
	}
	out := docs[target].Bytes()
	input := files[target].Text
	if override == nil {
		kept := keepMerged(files[0].Path, files[0].Text, out, plan)
		switch {
		case len(kept) != len(out):
			res.Notes = append(res.Notes, "the sidekiq services as they were before this merge are kept in a comment block at the end of services:; they come back when the machine grows")
		case restored:
			res.Notes = append(res.Notes, "the sidekiq services a smaller machine merged are back, planned for this one")
		}
		out, input = kept, original
	}
	check := append([]compose.File(nil), files...)
	check[target].Text = out
	res.Plan, res.Path, res.Input, res.Output = plan, files[target].Path, input, out
	return res, check, nil
}

// PlannerServices are the facts the planner takes from the compose
// file's services: as written, plus what interpolation and the env_files'
// connection keys tell (the image's version, who connects where).
func PlannerServices(services []compose.Service, vars *compose.Vars, readEnvFile func(string) ([]byte, error)) []planner.Service {
	var out []planner.Service
	logins := map[string]int{} // a login as compared in memory: its CredGroup
	for _, s := range services {
		ps := planner.Service{Name: s.Name, Image: s.Image, Build: s.Build, Command: s.Command, Env: s.Env, ShmSizeBytes: s.ShmSize, Replicas: s.Replicas}
		if img, ok := vars.Interpolate(s.Image); ok && img != s.Image {
			ps.ImageResolved = img
		}
		ps.DependsOn, ps.NetworkMode, ps.Healthcheck = s.DependsOn, s.NetworkMode, s.Healthcheck
		ps.Networks, ps.EnvFiles, ps.Disabled = s.Networks, s.EnvFiles, s.Disabled
		ps.ContainerName, ps.Hostname = s.ContainerName, s.Hostname
		for _, n := range []string{s.ContainerName, s.Hostname} {
			if alias, ok := vars.Interpolate(n); ok && alias != "" {
				ps.Aliases = append(ps.Aliases, alias)
			}
		}
		ps.Profiles = s.Profiles
		if kept, ok := s.Kept["shm_size"]; ok {
			if n, err := compose.ByteSize(kept); err == nil {
				ps.ShmSizeBytes, ps.ShmKept = n, true
			}
		}
		var login string
		ps.ConnEnv, ps.ConnFrom, ps.URLPassword, login = connectionFacts(s, vars, readEnvFile)
		if login != "" {
			if logins[login] == 0 {
				logins[login] = len(logins) + 1
			}
			ps.CredGroup = logins[login]
		}
		for _, p := range s.Ports {
			ps.Ports = append(ps.Ports, planner.Port(p))
		}
		ps.PortsResolved = resolvedPorts(ps.Ports, vars)
		out = append(out, ps)
	}
	return out
}

// resolvedPorts interpolates the ports that use variables; nil when
// none does, or one cannot be resolved.
func resolvedPorts(ports []planner.Port, vars *compose.Vars) []planner.Port {
	any := false
	out := make([]planner.Port, len(ports))
	for i, p := range ports {
		out[i] = p
		for _, f := range []*string{&out[i].HostIP, &out[i].Published} {
			if !strings.Contains(*f, "$") {
				continue
			}
			v, ok := vars.Interpolate(*f)
			if !ok {
				return nil
			}
			*f, any = v, true
		}
	}
	if !any {
		return nil
	}
	return out
}

// keepTargetChanges drops the changes to services the target file does not
// define (a warning each), and warns where the override sets what an edit
// to the base file sets, since the override wins.
func keepTargetChanges(warnings *[]string, changes []planner.Change, in, other []compose.Service, inPath, otherPath string, otherIsOverride bool) []planner.Change {
	defined := map[string]bool{}
	for _, s := range in {
		defined[s.Name] = true
	}
	var kept []planner.Change
	for _, c := range changes {
		if c.Kind == planner.AddService {
			defined[c.Service] = true // a new service, in the file being written
		}
		if c.Kind != planner.Clone && !defined[c.Service] {
			*warnings = append(*warnings, fmt.Sprintf("%s: %s is defined in %s, which compose-scale does not write: make this change there by hand (%s)", inPath, c.Service, otherPath, describe(c)))
			continue
		}
		if c.Kind == planner.Clone || c.Kind == planner.Rename {
			defined[c.To] = true
		}
		if otherIsOverride {
			// Ports are not here: compose adds an override's ports to the
			// base's rather than replacing them.
			key := map[planner.ChangeKind]string{planner.SetCommand: "command", planner.SetEnv: "environment/" + c.Key, planner.SetEnvKeeping: "environment/" + c.Key, planner.SetField: c.Key, planner.SetFieldKeeping: c.Key}[c.Kind]
			if masks, line := compose.Masks(other, c.Service, key); key != "" && masks {
				*warnings = append(*warnings, fmt.Sprintf("%s:%d: %s sets %s for %s, which overrides what compose-scale wrote in %s: remove it there", otherPath, line, otherPath, strings.TrimPrefix(key, "environment/"), c.Service, inPath))
			}
		}
		kept = append(kept, c)
	}
	return kept
}

// portsInTarget renumbers port changes from the merged list (the base
// file's ports, then the override's) to the target file's own list; a
// change to a port the other file publishes becomes a warning.
func portsInTarget(warnings *[]string, changes []planner.Change, base []compose.Service, target int, files []compose.File) []planner.Change {
	inBase := map[string]int{}
	for _, s := range base {
		inBase[s.Name] = len(s.Ports)
	}
	var kept []planner.Change
	created := map[string]bool{} // new services: their ports are their own list
	for _, c := range changes {
		if c.Kind == planner.Clone {
			created[c.To] = true
		}
		if c.Kind == planner.AddService {
			created[c.Service] = true
		}
		if c.Kind != planner.SetPort && c.Kind != planner.RemovePort || created[c.Service] {
			kept = append(kept, c)
			continue
		}
		nb, i := inBase[c.Service], c.Port.Index
		switch {
		case target == 0 && i < nb:
		case target == 1 && i >= nb:
			c.Port.Index = i - nb
		default:
			*warnings = append(*warnings, fmt.Sprintf("%s: the port %s of %s is published in %s: make this change there by hand (%s)", files[target].Path, c.Port, c.Service, files[1-target].Path, describe(c)))
			continue
		}
		kept = append(kept, c)
	}
	return kept
}

func describe(c planner.Change) string {
	switch c.Kind {
	case planner.SetCommand:
		return "command: " + strings.Join(c.Command, " ")
	case planner.SetEnv, planner.SetEnvKeeping:
		return c.Key + "=" + c.Value
	case planner.SetField, planner.SetFieldKeeping:
		return c.Key + ": " + c.Value
	case planner.RestoreField:
		return c.Key + ": as it was"
	case planner.RemoveField:
		return c.Key + ": removed"
	case planner.CopyEntry:
		return c.Key + ": as " + c.From + " has it"
	case planner.ReplaceText:
		return c.Key + ": " + c.Old + " -> " + c.Value
	case planner.SetReplicas:
		return "scale: " + c.Value
	case planner.AddService:
		return "add service " + c.Service
	case planner.RemoveEnv:
		return "remove " + c.Key + " from environment"
	case planner.SetPort, planner.RemovePort:
		return "ports: " + c.Port.String()
	case planner.Rename:
		return "rename to " + c.To
	case planner.Remove:
		return "remove it"
	}
	return ""
}

// applyAll makes the plan's changes. Edits to one service are held and
// made together (compose.EditService), which costs one full re-parse of
// the file instead of one per edit; a clone takes its own edits with it.
// Held edits are made before any change that reads or moves their service,
// so the result is the same as making the changes one by one.
func applyAll(doc *compose.Document, changes []planner.Change) error {
	pending := map[string][]planner.Change{}
	var order []string
	flush := func(name string) error {
		cs := pending[name]
		if len(cs) == 0 {
			return nil
		}
		delete(pending, name)
		return doc.EditService(name, func(sd *compose.Document) error { return applyEach(sd, cs) })
	}
	taken := make([]bool, len(changes))
	for i, c := range changes {
		if taken[i] {
			continue
		}
		switch c.Kind {
		case planner.Rename:
			if err := flush(c.Service); err != nil {
				return err
			}
			if err := doc.RenameService(c.Service, c.To); err != nil {
				return err
			}
		case planner.Remove:
			delete(pending, c.Service)
			if err := doc.RemoveService(c.Service); err != nil {
				return err
			}
		case planner.AddService:
			if err := flush(c.After); err != nil {
				return err
			}
			if err := doc.AddService(c.Service, c.After, compose.NewService(*c.New)); err != nil {
				return err
			}
		case planner.Clone:
			if err := flush(c.Service); err != nil {
				return err
			}
			// A run of clones of one service, each placed after the one
			// before, goes in as one insertion, each with its own edits.
			run := []planner.Change{c}
			for j := i + 1; j < len(changes) && changes[j].Kind == planner.Clone && changes[j].Service == c.Service && changes[j].After == run[len(run)-1].To; j++ {
				run = append(run, changes[j])
				taken[j] = true
			}
			var names []string
			var fns []func(*compose.Document) error
			for _, cl := range run {
				own := ownEdits(changes, i+len(run), cl.To, taken)
				names = append(names, cl.To)
				fns = append(fns, func(sd *compose.Document) error { return applyEach(sd, own) })
			}
			if err := doc.CloneServicesWith(c.Service, names, c.After, fns); err != nil {
				return err
			}
		default:
			if _, held := pending[c.Service]; !held {
				order = append(order, c.Service)
			}
			pending[c.Service] = append(pending[c.Service], c)
		}
	}
	for _, name := range order {
		if err := flush(name); err != nil {
			return err
		}
	}
	return nil
}

// ownEdits takes the edits to a new service from changes[from:], up to any
// change that moves it or places something after it.
func ownEdits(changes []planner.Change, from int, name string, taken []bool) []planner.Change {
	var own []planner.Change
	for j := from; j < len(changes); j++ {
		d := changes[j]
		if d.Service == name && (d.Kind == planner.Rename || d.Kind == planner.Remove || d.Kind == planner.Clone) || d.Kind == planner.Clone && d.After == name {
			break
		}
		if d.Service == name && !taken[j] {
			own = append(own, d)
			taken[j] = true
		}
	}
	return own
}

func applyEach(doc *compose.Document, changes []planner.Change) error {
	for i := 0; i < len(changes); i++ {
		c := changes[i]
		if c.Kind == planner.SetPort || c.Kind == planner.RemovePort {
			// A run of one kind of port edit to one service goes in one
			// pass (indices all refer to the list before the run).
			var set []compose.Port
			var remove []int
			j := i
			for ; j < len(changes) && changes[j].Kind == c.Kind && changes[j].Service == c.Service; j++ {
				if c.Kind == planner.SetPort {
					set = append(set, compose.Port(changes[j].Port))
				} else {
					remove = append(remove, changes[j].Port.Index)
				}
			}
			if err := doc.EditPorts(c.Service, set, remove); err != nil {
				return err
			}
			i = j - 1
			continue
		}
		if err := apply(doc, c); err != nil {
			return err
		}
	}
	return nil
}

func apply(doc *compose.Document, c planner.Change) error {
	switch c.Kind {
	case planner.Rename:
		return doc.RenameService(c.Service, c.To)
	case planner.Clone:
		return doc.CloneService(c.Service, c.To, c.After)
	case planner.Remove:
		return doc.RemoveService(c.Service)
	case planner.SetCommand:
		return doc.SetCommand(c.Service, c.Command)
	case planner.SetEnv:
		return doc.SetEnv(c.Service, c.Key, c.Value)
	case planner.SetEnvKeeping:
		return doc.SetEnvKeeping(c.Service, c.Key, c.Value)
	case planner.SetField:
		return doc.SetKey(c.Service, c.Key, c.Value)
	case planner.SetFieldKeeping:
		return doc.SetKeyKeeping(c.Service, c.Key, c.Value)
	case planner.RestoreField:
		return doc.RestoreKey(c.Service, c.Key)
	case planner.RemoveField:
		return doc.RemoveKeyIf(c.Service, c.Key, c.Value)
	case planner.CopyEntry:
		return doc.CopyEntry(c.Service, c.From, c.Key)
	case planner.ReplaceText:
		return doc.ReplaceInEntry(c.Service, c.Key, c.Old, c.Value)
	case planner.AddService:
		return doc.AddService(c.Service, c.After, compose.NewService(*c.New))
	case planner.RemoveEnv:
		return doc.RemoveEnv(c.Service, c.Key, c.Value)
	case planner.SetReplicas:
		n, err := strconv.Atoi(c.Value)
		if err != nil {
			return fmt.Errorf("internal error: replicas %q", c.Value)
		}
		return doc.SetReplicas(c.Service, n)
	case planner.SetPort:
		return doc.SetPort(c.Service, compose.Port(c.Port))
	case planner.RemovePort:
		return doc.RemovePort(c.Service, c.Port.Index)
	}
	return fmt.Errorf("internal error: unknown change %d", c.Kind)
}

// placeError gives a planner error about a service the line of the file
// that defines it.
func placeError(docs []*compose.Document, err error) error {
	var se *planner.ServiceError
	if errors.As(err, &se) {
		for i := len(docs) - 1; i >= 0; i-- {
			if line := docs[i].ServiceLine(se.Service); line > 0 {
				return &compose.Error{Path: docs[i].Path, Line: docs[i].KeyLine(se.Service, "command"), Msg: se.Error()}
			}
		}
	}
	return &compose.Error{Path: docs[0].Path, Msg: err.Error()}
}

// Differences says, one line each, what the rewrite would change in
// meaning: services to add or remove, commands and pool variables.
func (r *Result) Differences(path string) ([]string, error) {
	before, err := servicesOf(path, r.Input)
	if err != nil {
		return nil, err
	}
	after, err := servicesOf(path, r.Output)
	if err != nil {
		return nil, err
	}
	return compose.Differences(before, after), nil
}

func servicesOf(path string, src []byte) ([]compose.Service, error) {
	doc, err := compose.Parse(path, src)
	if err != nil {
		return nil, err
	}
	return doc.Services()
}
