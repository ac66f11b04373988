package rewrite

import (
	"fmt"
	"sort"
	"strings"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/planner"
)

// overrideHeader starts an override file compose-scale writes.
const overrideHeader = "# " + overrideTitle

const overrideTitle = "Written by compose-scale rewrite --override: the plan for "

// RewriteOverride plans the compose file (f.Base) together with the
// override docker compose reads beside it (f.Override; nil when there is
// none yet, to be created as overridePath) and writes the whole plan into
// the override: the base file is read, never written, so upgrading it
// (git pull) never conflicts. Services are not renamed (an override
// cannot): the plan's processes adopt the file's sidekiq names; a service
// the plan drops is switched off (scale: 0). New services are written
// whole; a base service gets only the keys the plan changes, with
// compose's merge tags where a merge would add up (ports: !override) or
// keep what must go (!reset).
func RewriteOverride(f Files, overridePath string, in planner.Input) (*Result, error) {
	r := &overrideRun{f: f, path: overridePath}
	if f.Override != nil {
		r.path = f.Override.Path
	}
	steps := []func() error{r.read, func() error { return r.makePlan(in) }, r.buildT, r.writeBase, r.writeNew, r.writeGone}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return r.result()
}

// overrideRun is one RewriteOverride: the files as read, the plan, T (the
// base file with the plan applied: what every service should be, as
// text), and the override being written.
type overrideRun struct {
	f        Files
	path     string // the override's
	warnings []string

	base     *compose.Document
	baseSvcs []compose.Service
	over     *compose.Document // nil when there is no override yet
	overSvcs []compose.Service
	merged   []compose.Service
	// fromBase: the override is compose-scale's own (overrideHeader) and
	// the plan is made from the base file alone.
	fromBase     bool
	inBase       map[string]compose.Service
	inOver       map[string]compose.Service
	plan         *planner.Plan
	tDoc         *compose.Document
	tSvcs        []compose.Service
	removed      map[string]bool   // base services the plan drops
	created      map[string]bool   // services the plan adds
	cloneOf      map[string]string // a copy the plan makes of a base service: that service
	envTouched   map[string][]string
	portEdits    map[string][]planner.Change
	w            *overrideWriter
	planned, inT map[string]bool
}

// read validates and parses both files, and makes compose-scale's copies
// in the override again from the base file as it is now, so that the
// plan sees the healthcheck and image a re-made copy will have.
func (r *overrideRun) read() error {
	files := []compose.File{r.f.Base}
	if r.f.Override != nil {
		files = append(files, *r.f.Override)
	}
	var err error
	if r.warnings, err = compose.ValidateWith(r.f.Vars, files...); err != nil {
		return err
	}
	if r.base, err = compose.Parse(r.f.Base.Path, r.f.Base.Text); err != nil {
		return err
	}
	if r.baseSvcs, err = r.base.Services(); err != nil {
		return err
	}
	if r.f.Override != nil {
		if r.over, err = compose.Parse(r.f.Override.Path, r.f.Override.Text); err != nil {
			return err
		}
		if r.overSvcs, err = r.over.Services(); err != nil {
			return err
		}
		for _, s := range r.overSvcs {
			block, _ := r.over.ServiceText(s.Name)
			if !strings.Contains(block, overrideMarker) || baseHas(r.baseSvcs, s.Name) {
				continue
			}
			if src := copySource(s, r.baseSvcs); src != "" {
				// What the plan sets (its queues, threads, pools) stays as
				// the copy has it: the plan starts from that layout.
				if err := r.over.ReplaceServiceText(s.Name, recopy(r.base, src, s.Name, block, "command", "environment")); err != nil {
					return err
				}
			}
		}
		if r.overSvcs, err = r.over.Services(); err != nil {
			return err
		}
	}
	r.merged = compose.Merge(r.baseSvcs, r.overSvcs)
	r.inBase, r.inOver = byName(r.baseSvcs), byName(r.overSvcs)
	return nil
}

func byName(ss []compose.Service) map[string]compose.Service {
	m := map[string]compose.Service{}
	for _, s := range ss {
		m[s.Name] = s
	}
	return m
}

// makePlan plans base + override as docker compose merges them, or the
// base file alone when the override is compose-scale's own: it holds an
// earlier plan and nothing of the admin's, and planning from the base
// makes every size's override what writing it directly would be, whatever
// sizes came before (a split an earlier plan merged is the base file's
// again).
func (r *overrideRun) makePlan(in planner.Input) error {
	in.KeepNames = true
	planFrom := r.merged
	if r.f.Override != nil && strings.HasPrefix(string(r.f.Override.Text), overrideHeader) {
		planFrom, r.fromBase = r.baseSvcs, true
	}
	if r.f.Vars != nil {
		in.VarsSource = "the environment"
		if r.f.Vars.DotEnv != "" {
			in.VarsSource = r.f.Vars.DotEnv + " and the environment"
		}
	}
	in.Services = PlannerServices(planFrom, r.f.Vars, r.f.ReadEnvFile)
	for i := range in.Services {
		if _, ok := r.inBase[in.Services[i].Name]; ok {
			in.Services[i].Fixed = true // the base file is never written
		}
	}
	plan, err := planner.Make(in)
	if err != nil {
		docs := []*compose.Document{r.base}
		if r.over != nil {
			docs = append(docs, r.over)
		}
		return placeError(docs, err)
	}
	r.plan = plan
	return nil
}

// buildT applies the plan to the base file (with the override's own
// services after it, unless planning from the base alone).
func (r *overrideRun) buildT() error {
	var err error
	if r.tDoc, err = compose.Parse(r.f.Base.Path, r.f.Base.Text); err != nil {
		return err
	}
	// A base service's ports as the override already has them (a !reset
	// or !override of an earlier run): the plan's port edits are made on
	// that list, and a copy made of the service now takes it.
	for _, b := range r.baseSvcs {
		if o, ok := r.inOver[b.Name]; !ok || !o.Has["ports"] || r.fromBase {
			continue // planned from the base file: its port edits are on the base's list
		}
		if err := r.tDoc.SetPortList(b.Name, mergedPorts(r.merged, b.Name)); err != nil {
			return err
		}
	}
	for _, s := range r.overSvcs {
		if _, ok := r.inBase[s.Name]; ok || r.fromBase {
			continue
		}
		block, _ := r.over.ServiceText(s.Name)
		// A copy of compose-scale's is made again from the service it
		// copies, as the base file has it now: after an upgrade it
		// follows the new image and healthcheck. Its own names stay;
		// its command, pools and ports the plan sets again.
		if strings.Contains(block, overrideMarker) {
			if src := copySource(s, r.baseSvcs); src != "" {
				block = recopy(r.base, src, s.Name, block)
			}
		}
		if err := r.tDoc.AppendServiceText(block); err != nil {
			return err
		}
	}
	if err := applyAll(r.tDoc, r.sortChanges()); err != nil {
		return err
	}
	if r.tSvcs, err = r.tDoc.Services(); err != nil {
		return err
	}
	r.planned, r.inT = map[string]bool{}, map[string]bool{}
	for _, p := range r.plan.Sidekiq {
		r.planned[p.Name] = true
	}
	for _, s := range r.tSvcs {
		r.inT[s.Name] = true
	}
	r.w = &overrideWriter{path: r.path, doc: r.over}
	if r.over == nil {
		r.w.text = compose.NewFile(overrideTitle+r.f.Base.Path+", which stays as upstream ships it.",
			"docker compose reads this file beside it; it needs docker compose "+MergeTagsVersion+" or later (merge tags).")
	}
	return nil
}

// sortChanges notes what each change means for the override (a base
// service dropped, ports and environment touched, services added) and
// returns the changes to make in T.
func (r *overrideRun) sortChanges() []planner.Change {
	r.removed, r.created, r.cloneOf = map[string]bool{}, map[string]bool{}, map[string]string{}
	r.envTouched, r.portEdits = map[string][]string{}, map[string][]planner.Change{}
	var tChanges []planner.Change
	for _, c := range r.plan.Changes {
		_, base := r.inBase[c.Service]
		switch c.Kind {
		case planner.Remove:
			if base {
				r.removed[c.Service] = true
				continue
			}
		case planner.SetPort, planner.RemovePort:
			if base {
				// Written as the override's ports entry; made in T too,
				// so a copy made of the service after it has them.
				r.portEdits[c.Service] = append(r.portEdits[c.Service], c)
			}
		case planner.SetEnv, planner.SetEnvKeeping, planner.RemoveEnv:
			if base {
				r.envTouched[c.Service] = append(r.envTouched[c.Service], c.Key)
			}
		case planner.Clone:
			r.created[c.To] = true
			if _, fromBaseFile := r.inBase[c.Service]; fromBaseFile {
				r.cloneOf[c.To] = c.Service
			}
		case planner.AddService:
			r.created[c.Service] = true
			if c.New.Extends != "" {
				// Extends without a file is resolved within the override,
				// where web is only the plan's edits: name the base file.
				ns := *c.New
				ns.ExtendsFile = relativeTo(r.path, r.f.Base.Path)
				c.New = &ns
			}
		}
		tChanges = append(tChanges, c)
	}
	return tChanges
}

// writeBase gives each base service the entries where T differs from it.
func (r *overrideRun) writeBase() error {
	for _, b := range r.baseSvcs {
		entries, removeKeys := r.baseEntries(b)
		envSet, envDrop := r.baseEnv(b)
		if err := r.w.service(b.Name, r.inOver[b.Name].Name != "", entries, removeKeys, envSet, envDrop); err != nil {
			return err
		}
	}
	return nil
}

// baseEntries are a base service's managed keys as T has them, and the
// keys an earlier run wrote that go.
func (r *overrideRun) baseEntries(b compose.Service) (entries []compose.Entry, removeKeys []string) {
	name := b.Name
	if off := r.inOver[name].Disabled && planner.IsSidekiq(b.Command) && !r.planned[name]; r.removed[name] || off {
		// Dropped by the plan (now or on an earlier run): switched off,
		// since an override cannot delete a service.
		entries = append(entries, compose.IntValue("scale", 0))
		if hasDeployReplicas(r.base, name) {
			// compose refuses scale and deploy.replicas that differ: both
			// say 0 (deploy merges, its other settings stay).
			entries = append(entries, compose.Mapping("deploy", compose.IntValue("replicas", 0)))
		}
		return entries, nil
	}
	for _, key := range managedKeys {
		tEntry, tOk := r.tDoc.Entry(name, key)
		bEntry, bOk := r.base.Entry(name, key)
		switch {
		case tOk && (!bOk || tEntry.Text() != bEntry.Text()):
			entries = append(entries, tEntry)
		case !tOk && bOk:
			entries = append(entries, compose.Reset(key))
		case key == "scale" && r.inOver[name].Disabled:
			// Switched off by an earlier plan, on again.
			entries = append(entries, compose.Reset(key))
		case key == "deploy" && r.inOver[name].Disabled && tOk:
			entries = append(entries, tEntry) // replicas as the plan has them again
		case r.fromBase && r.inOver[name].Has[key] && key != "ports":
			// An earlier plan's entry this plan does not make.
			removeKeys = append(removeKeys, key)
		}
	}
	if edits := r.portEdits[name]; len(edits) > 0 {
		want := applyPortEdits(mergedPorts(r.merged, name), edits)
		switch {
		case portsEqual(want, b.Ports):
			removeKeys = append(removeKeys, "ports")
		case len(want) == 0:
			// Every published port goes: an empty !override list is
			// refused ("must be a array"); !reset empties it.
			entries = append(entries, compose.ResetList("ports"))
		default:
			entries = append(entries, compose.Override(compose.PortsEntry(want)))
		}
	}
	return entries, removeKeys
}

// baseEnv is what a base service's override environment sets and drops:
// each key the plan touches, and when planning from the base alone every
// key an earlier plan wrote (made again or gone).
func (r *overrideRun) baseEnv(b compose.Service) (envSet [][2]string, envDrop []string) {
	keys := r.envTouched[b.Name]
	if r.fromBase {
		n := len(keys)
		for k := range r.inOver[b.Name].Env {
			keys = append(keys, k)
		}
		sort.Strings(keys[n:])
	}
	seen := map[string]bool{}
	tSvc := serviceNamed(r.tSvcs, b.Name)
	for _, key := range keys {
		if seen[key] {
			continue
		}
		seen[key] = true
		tVal, tOk := tSvc.Env[key]
		if bVal, bOk := b.Env[key]; tOk && (!bOk || tVal != bVal) {
			envSet = append(envSet, [2]string{key, tVal})
		} else {
			envDrop = append(envDrop, key)
		}
	}
	return envSet, envDrop
}

// writeNew writes whole the services T has and the base file does not.
func (r *overrideRun) writeNew() error {
	for _, s := range r.tSvcs {
		if _, ok := r.inBase[s.Name]; ok {
			continue
		}
		if err := r.tDoc.PointExtendsAt(s.Name, relativeTo(r.path, r.f.Base.Path)); err != nil {
			return err
		}
		block, _ := r.tDoc.SelfContainedServiceText(s.Name)
		src := r.cloneOf[s.Name]
		if src == "" && r.over != nil {
			// A copy an earlier run made, kept by this plan.
			if prev, _ := r.over.ServiceText(s.Name); strings.Contains(prev, overrideMarker) {
				src = copySource(s, r.baseSvcs)
			}
		}
		if src != "" {
			if ext, ok := r.extendsBlock(s, src); ok {
				block = ext
			}
		}
		if r.created[s.Name] && !strings.Contains(block, overrideMarker) {
			block = compose.WithComment(block, overrideComment)
		}
		if err := r.w.whole(s.Name, r.inOver[s.Name].Name != "", block); err != nil {
			return err
		}
	}
	return nil
}

// writeGone handles the override's services the plan removed:
// compose-scale's own go; an admin's is switched off, not deleted.
func (r *overrideRun) writeGone() error {
	for _, s := range r.overSvcs {
		if _, ok := r.inBase[s.Name]; ok || r.inT[s.Name] {
			continue
		}
		block, _ := r.over.ServiceText(s.Name)
		if strings.Contains(block, overrideMarker) {
			if err := r.w.remove(s.Name); err != nil {
				return err
			}
		} else if err := r.w.service(s.Name, true, []compose.Entry{compose.IntValue("scale", 0)}, nil, nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// result checks that base + the new override load, and returns it.
func (r *overrideRun) result() (*Result, error) {
	out, err := r.w.bytes()
	if err != nil {
		return nil, err
	}
	notes := []string{fmt.Sprintf("the plan is written to %s; %s is not touched (upgrades never conflict with it)", r.path, r.f.Base.Path)}
	if r.w.tagged {
		notes = append(notes, fmt.Sprintf("%s uses compose's merge tags (!override, !reset): docker compose %s or later reads them", r.path, MergeTagsVersion))
	}
	if _, err := compose.ValidateWith(r.f.Vars, r.f.Base, compose.File{Path: r.path, Text: out}); err != nil {
		return nil, fmt.Errorf("internal error: the override compose-scale wrote would not load (%v); nothing was written, please report this with your compose files", err)
	}
	var input []byte
	if r.f.Override != nil {
		input = r.f.Override.Text
	}
	return &Result{Plan: r.plan, Path: r.path, Input: input, Output: out, ReadWarnings: r.warnings, Notes: notes}, nil
}

// extendsBlock writes a copy the plan makes of a base service as
// extends of it plus what differs: the copy follows the base file (an
// upgrade's image and healthcheck) with no re-run, and nothing of the
// base service's own (literal environment values, secrets among them) is
// written a second time. ok is false when a difference cannot be said
// that way (the copy lacks an environment entry the service has).
func (r *overrideRun) extendsBlock(copy compose.Service, src string) (string, bool) {
	base := r.inBase[src]
	if raw, _ := r.base.ServiceText(src); base.Has["extends"] || strings.Contains(raw, "extends:") || strings.Contains(raw, "<<") || strings.Contains(raw, ": *") {
		return "", false // merges and aliases: the whole copy, resolved, is plainer
	}
	for k := range base.Env {
		if _, ok := copy.Env[k]; !ok {
			return "", false
		}
	}
	entries := []compose.Entry{compose.Extends(relativeTo(r.path, r.f.Base.Path), src)}
	keys := map[string]bool{}
	for k := range copy.Has {
		keys[k] = true
	}
	for k := range base.Has {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, key := range names {
		if key == "environment" {
			continue
		}
		cEntry, cOk := r.tDoc.Entry(copy.Name, key)
		sEntry, sOk := r.base.Entry(src, key)
		switch {
		case cOk && sOk && cEntry.Text() == sEntry.Text():
		case cOk && key == "ports":
			// extends adds the copy's ports to the service's: the copy's
			// list replaces them.
			entries = append(entries, compose.Override(cEntry))
		case cOk:
			entries = append(entries, cEntry)
		case key == "ports":
			entries = append(entries, compose.ResetList(key))
		default:
			entries = append(entries, compose.Reset(key))
		}
	}
	var env [][2]string
	for k, v := range copy.Env {
		if bv, ok := base.Env[k]; !ok || bv != v {
			env = append(env, [2]string{k, v})
		}
	}
	if len(env) > 0 {
		sort.Slice(env, func(i, j int) bool { return env[i][0] < env[j][0] })
		entries = append(entries, compose.EnvList(env))
	}
	return compose.ServiceBlock(copy.Name, overrideComment, entries...), true
}
