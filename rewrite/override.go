package rewrite

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/planner"
)

// overrideMarker is the first line compose-scale writes inside a service it
// adds to an override file: it owns that service and rewrites it whole.
const overrideMarker = "# written by compose-scale rewrite --override: replaced on each run"

// managedKeys are the keys of a base file's service that a plan may
// change, and so the ones an override entry of compose-scale's may set.
// Environment and ports are handled apart (merged by variable; a list
// compose appends to).
var managedKeys = []string{"image", "command", "shm_size", "healthcheck", "container_name", "hostname", "scale", "deploy"}

// MergeTagsVersion is the docker compose release that reads the merge
// tags (!override, !reset) an override file of compose-scale's may use.
const MergeTagsVersion = "2.24.4"

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
// overrideHeader starts an override file compose-scale writes.
const overrideHeader = "# Written by compose-scale rewrite --override: the plan for "

func RewriteOverride(f Files, overridePath string, in planner.Input) (*Result, error) {
	in.KeepNames = true
	files := []compose.File{f.Base}
	if f.Override != nil {
		files = append(files, *f.Override)
		overridePath = f.Override.Path
	}
	warnings, err := compose.ValidateWith(f.Vars, files...)
	if err != nil {
		return nil, err
	}
	base, err := compose.Parse(f.Base.Path, f.Base.Text)
	if err != nil {
		return nil, err
	}
	baseSvcs, err := base.Services()
	if err != nil {
		return nil, err
	}
	var over *compose.Document
	var overSvcs []compose.Service
	if f.Override != nil {
		if over, err = compose.Parse(f.Override.Path, f.Override.Text); err != nil {
			return nil, err
		}
		if overSvcs, err = over.Services(); err != nil {
			return nil, err
		}
		// compose-scale's copies are planned as they will be made again
		// (below): from the base file as it is now, so that the plan
		// sees the healthcheck and image a re-made copy will have.
		for _, s := range overSvcs {
			block, _ := over.ServiceText(s.Name)
			if !strings.Contains(block, overrideMarker) || baseHas(baseSvcs, s.Name) {
				continue
			}
			if src := copySource(s, baseSvcs); src != "" {
				// What the plan sets (its queues, threads, pools) stays as
				// the copy has it: the plan starts from that layout.
				if err := over.ReplaceServiceText(s.Name, recopy(base, src, s.Name, block, "command", "environment")); err != nil {
					return nil, err
				}
			}
		}
		if overSvcs, err = over.Services(); err != nil {
			return nil, err
		}
	}
	merged := compose.Merge(baseSvcs, overSvcs)
	planFrom, fromBase := merged, false
	if f.Override != nil && strings.HasPrefix(string(f.Override.Text), overrideHeader) {
		// An override compose-scale wrote holds an earlier plan, nothing
		// of the admin's: planning from the base file alone makes every
		// size's override what writing it directly would be, whatever
		// sizes came before (a split an earlier plan merged is the base
		// file's again).
		planFrom, fromBase = baseSvcs, true
	}
	if f.Vars != nil {
		in.VarsSource = "the environment"
		if f.Vars.DotEnv != "" {
			in.VarsSource = f.Vars.DotEnv + " and the environment"
		}
	}
	in.Services = PlannerServices(planFrom, f.Vars, f.ReadEnvFile)
	for i := range in.Services {
		for _, b := range baseSvcs {
			if b.Name == in.Services[i].Name {
				in.Services[i].Fixed = true // the base file is never written
			}
		}
	}
	plan, err := planner.Make(in)
	if err != nil {
		docs := []*compose.Document{base}
		if over != nil {
			docs = append(docs, over)
		}
		return nil, placeError(docs, err)
	}
	plan.Warnings = append(warnings, plan.Warnings...)

	inBase := map[string]compose.Service{}
	for _, s := range baseSvcs {
		inBase[s.Name] = s
	}
	inOver := map[string]compose.Service{}
	for _, s := range overSvcs {
		inOver[s.Name] = s
	}
	// T: the base file with the override's own services after it, the
	// plan applied: what every service should be, as text.
	tDoc, err := compose.Parse(f.Base.Path, f.Base.Text)
	if err != nil {
		return nil, err
	}
	// A base service's ports as the override already has them (a !reset
	// or !override of an earlier run): the plan's port edits are made on
	// that list, and a copy made of the service now takes it.
	for _, b := range baseSvcs {
		if o, ok := inOver[b.Name]; !ok || !o.Has["ports"] || fromBase {
			continue // planned from the base file: its port edits are on the base's list
		}
		if err := tDoc.SetPortList(b.Name, mergedPorts(merged, b.Name)); err != nil {
			return nil, err
		}
	}
	for _, s := range overSvcs {
		if _, ok := inBase[s.Name]; !ok && !fromBase {
			block, _ := over.ServiceText(s.Name)
			// A copy of compose-scale's is made again from the service
			// it copies, as the base file has it now: after an upgrade
			// it follows the new image and healthcheck. Its own names
			// stay; its command, pools and ports the plan sets again.
			if strings.Contains(block, overrideMarker) {
				if src := copySource(s, baseSvcs); src != "" {
					block = recopy(base, src, s.Name, block)
				}
			}
			if err := tDoc.AppendServiceText(block); err != nil {
				return nil, err
			}
		}
	}
	removed := map[string]bool{}
	created := map[string]bool{}
	envTouched := map[string][]string{}
	portEdits := map[string][]planner.Change{}
	var tChanges []planner.Change
	for _, c := range plan.Changes {
		_, base := inBase[c.Service]
		switch c.Kind {
		case planner.Remove:
			if base {
				removed[c.Service] = true
				continue
			}
		case planner.SetPort, planner.RemovePort:
			if base {
				// Written as the override's ports entry below; made in T
				// too, so a copy made of the service after it has them.
				portEdits[c.Service] = append(portEdits[c.Service], c)
			}
		case planner.SetEnv, planner.SetEnvKeeping, planner.RemoveEnv:
			if base {
				envTouched[c.Service] = append(envTouched[c.Service], c.Key)
			}
		case planner.Clone:
			created[c.To] = true
		case planner.AddService:
			created[c.Service] = true
			if c.New.Extends != "" {
				// Extends without a file is resolved within the override,
				// where web is only the plan's edits: name the base file.
				ns := *c.New
				ns.ExtendsFile = relativeTo(overridePath, f.Base.Path)
				c.New = &ns
			}
		}
		tChanges = append(tChanges, c)
	}
	if err := applyAll(tDoc, tChanges); err != nil {
		return nil, err
	}
	tSvcs, err := tDoc.Services()
	if err != nil {
		return nil, err
	}
	planned := map[string]bool{}
	for _, p := range plan.Sidekiq {
		planned[p.Name] = true
	}
	inT := map[string]bool{}
	for _, s := range tSvcs {
		inT[s.Name] = true
	}

	w := &overrideWriter{path: overridePath, doc: over}
	if over == nil {
		w.text = overrideHeader + f.Base.Path + ", which stays as upstream ships it.\n# docker compose reads this file beside it; it needs docker compose " + MergeTagsVersion + " or later (merge tags).\nservices:\n"
	}
	usedTags := false
	for _, b := range baseSvcs {
		name := b.Name
		var entries [][2]string // key, entry text
		var removeKeys []string
		off := inOver[name].Disabled && planner.IsSidekiq(b.Command) && !planned[name]
		if removed[name] || off {
			// Dropped by the plan (now or on an earlier run): switched
			// off, since an override cannot delete a service.
			entries = append(entries, [2]string{"scale", "scale: 0\n"})
			if hasDeployReplicas(base, name) {
				// compose refuses scale and deploy.replicas that differ:
				// both say 0 (deploy merges, its other settings stay).
				entries = append(entries, [2]string{"deploy", "deploy:\n  replicas: 0\n"})
			}
		} else {
			for _, key := range managedKeys {
				tText, tOk := tDoc.SelfContainedEntryText(name, key)
				bText, bOk := base.SelfContainedEntryText(name, key)
				switch {
				case tOk && (!bOk || tText != bText):
					entries = append(entries, [2]string{key, tText})
				case !tOk && bOk:
					entries = append(entries, [2]string{key, key + ": !reset null\n"})
					usedTags = true
				case key == "scale" && inOver[name].Disabled:
					// Switched off by an earlier plan, on again.
					entries = append(entries, [2]string{key, "scale: !reset null\n"})
					usedTags = true
				case key == "deploy" && inOver[name].Disabled && tOk:
					entries = append(entries, [2]string{key, tText}) // replicas as the plan has them again
				case fromBase && inOver[name].Has[key] && key != "ports":
					// An earlier plan's entry this plan does not make.
					removeKeys = append(removeKeys, key)
				}
			}
			if edits := portEdits[name]; len(edits) > 0 {
				want := applyPortEdits(mergedPorts(merged, name), edits)
				if portsEqual(want, b.Ports) {
					removeKeys = append(removeKeys, "ports")
				} else if len(want) == 0 {
					// Every published port goes: an empty !override list
					// is refused ("must be a array"); !reset empties it.
					entries = append(entries, [2]string{"ports", "ports: !reset []\n"})
					usedTags = true
				} else {
					var lines strings.Builder
					lines.WriteString("ports: !override\n")
					for _, p := range want {
						lines.WriteString("  - '" + p.String() + "'\n")
					}
					entries = append(entries, [2]string{"ports", lines.String()})
					usedTags = true
				}
			}
		}
		var envSet [][2]string
		var envDrop []string
		seen := map[string]bool{}
		keys := envTouched[name]
		if fromBase {
			// Every entry an earlier plan wrote is made again or goes.
			for k := range inOver[name].Env {
				keys = append(keys, k)
			}
			sort.Strings(keys[len(envTouched[name]):])
		}
		for _, key := range keys {
			if seen[key] {
				continue
			}
			seen[key] = true
			tSvc := serviceNamed(tSvcs, name)
			tVal, tOk := tSvc.Env[key]
			bVal, bOk := b.Env[key]
			if tOk && (!bOk || tVal != bVal) {
				envSet = append(envSet, [2]string{key, tVal})
			} else {
				envDrop = append(envDrop, key)
			}
		}
		if err := w.service(name, inOver[name].Name != "", entries, removeKeys, envSet, envDrop); err != nil {
			return nil, err
		}
	}
	for _, s := range tSvcs {
		if _, ok := inBase[s.Name]; ok {
			continue
		}
		if err := tDoc.PointExtendsAt(s.Name, relativeTo(overridePath, f.Base.Path)); err != nil {
			return nil, err
		}
		block, _ := tDoc.SelfContainedServiceText(s.Name)
		if created[s.Name] && !strings.Contains(block, overrideMarker) {
			key, rest, _ := strings.Cut(block, "\n")
			block = key + "\n  " + overrideMarker + "\n" + rest
		}
		if err := w.whole(s.Name, inOver[s.Name].Name != "", block); err != nil {
			return nil, err
		}
	}
	for _, s := range overSvcs {
		if _, ok := inBase[s.Name]; ok || inT[s.Name] {
			continue
		}
		// A service of the override the plan removed: compose-scale's
		// own goes; an admin's is switched off, not deleted.
		block, _ := over.ServiceText(s.Name)
		if strings.Contains(block, overrideMarker) {
			if err := w.remove(s.Name); err != nil {
				return nil, err
			}
		} else if err := w.service(s.Name, true, [][2]string{{"scale", "scale: 0\n"}}, nil, nil, nil); err != nil {
			return nil, err
		}
	}
	out, err := w.bytes()
	if err != nil {
		return nil, err
	}
	plan.Notes = append(plan.Notes, fmt.Sprintf("the plan is written to %s; %s is not touched (upgrades never conflict with it)", overridePath, f.Base.Path))
	if usedTags {
		plan.Notes = append(plan.Notes, fmt.Sprintf("%s uses compose's merge tags (!override, !reset): docker compose %s or later reads them", overridePath, MergeTagsVersion))
	}
	if _, err := compose.ValidateWith(f.Vars, f.Base, compose.File{Path: overridePath, Text: out}); err != nil {
		return nil, fmt.Errorf("internal error: the override compose-scale wrote would not load (%v); nothing was written, please report this with your compose files", err)
	}
	var input []byte
	if f.Override != nil {
		input = f.Override.Text
	}
	return &Result{Plan: plan, Path: overridePath, Input: input, Output: out}, nil
}

// copySource is the base service a copy of compose-scale's was made
// from: the first sidekiq service for a sidekiq copy, the service a
// streaming copy (streaming-2) is numbered after; "" for anything else
// (PgBouncer, the cache Redis), which the plan keeps up to date itself.
func copySource(copy compose.Service, base []compose.Service) string {
	role := planner.RoleOf(planner.Service{Name: copy.Name, Image: copy.Image, Command: copy.Command})
	for _, b := range base {
		bs := planner.Service{Name: b.Name, Image: b.Image, Command: b.Command}
		switch {
		case role == planner.RoleSidekiq && planner.IsSidekiq(b.Command):
			return b.Name
		case role == planner.RoleStreaming && planner.RoleOf(bs) == planner.RoleStreaming && strings.HasPrefix(copy.Name, b.Name+"-"):
			return b.Name
		}
	}
	return ""
}

// recopy is the block of base service src renamed name, with the marker
// and the container_name and hostname of the copy it replaces.
func recopy(base *compose.Document, src, name, old string, keep ...string) string {
	text, ok := base.SelfContainedServiceText(src)
	if !ok {
		return old
	}
	doc, err := compose.Parse("copy.yml", []byte("services:\n"+indent(text, "  ")))
	if err != nil {
		return old
	}
	if err := doc.RenameService(src, name); err != nil {
		return old
	}
	was, err := compose.Parse("old.yml", []byte("services:\n"+indent(old, "  ")))
	if err != nil {
		return old
	}
	// What a copy must not share with the service it copies stays as the
	// copy had it: its names, its ports, its replicas.
	if ds, err := doc.Services(); err == nil && len(ds) == 1 && ds[0].Image == "" {
		// A build-only service: the copies share the image name the
		// plan gave them (one build), which the base file never has;
		// it goes where the plan put it, after build.
		if ws, err := was.Services(); err == nil && len(ws) == 1 && ws[0].Image != "" {
			if err := doc.SetKey(name, "image", ws[0].Image); err != nil {
				return old
			}
		}
	}
	for _, key := range append([]string{"container_name", "hostname", "ports", "scale", "deploy"}, keep...) {
		e, had := was.EntryText(name, key)
		var err error
		if had {
			err = doc.SetEntryText(name, key, e)
		} else {
			err = doc.RemoveKey(name, key)
		}
		if err != nil {
			return old
		}
	}
	block, _ := doc.ServiceText(name)
	key, rest, _ := strings.Cut(block, "\n")
	return key + "\n  " + overrideMarker + "\n" + rest
}

// overrideWriter edits an existing override document, or builds a new
// one as text: blocks for services it does not have are appended.
type overrideWriter struct {
	path   string
	doc    *compose.Document // the existing override; nil for a new one
	text   string            // a new override's text so far
	append []string          // blocks to add at the end, in order
}

// service makes a base service's entry in the override hold entries and
// env, and drop removeKeys and envDrop.
func (w *overrideWriter) service(name string, exists bool, entries [][2]string, removeKeys []string, env [][2]string, envDrop []string) error {
	if exists && w.doc != nil {
		for _, e := range entries {
			if err := w.doc.SetEntryText(name, e[0], e[1]); err != nil {
				return err
			}
		}
		for _, k := range env {
			if err := w.doc.SetEnv(name, k[0], k[1]); err != nil {
				return err
			}
		}
		for _, k := range envDrop {
			if w.emptied(name) {
				break
			}
			if err := w.doc.RemoveEnvKey(name, k); err != nil {
				return err
			}
		}
		for _, k := range removeKeys {
			if w.emptied(name) {
				break
			}
			if w.doc.OnlyKey(name, k) {
				return w.doc.RemoveServiceEntry(name) // nothing of the plan's is left on it
			}
			if err := w.doc.RemoveKey(name, k); err != nil {
				return err
			}
		}
		if w.emptied(name) {
			// Nothing of the plan's is left on it (a pooler turned off):
			// the entry goes, and the base file's service is as it is.
			return w.doc.RemoveServiceEntry(name)
		}
		return nil
	}
	if len(entries) == 0 && len(env) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(name + ":\n")
	for _, e := range entries {
		b.WriteString(indent(e[1], "  "))
	}
	if len(env) > 0 {
		b.WriteString("  environment:\n")
		for _, kv := range env {
			b.WriteString("    - " + quoteIfNeeded(kv[0]+"="+kv[1]) + "\n")
		}
	}
	w.append = append(w.append, b.String())
	return nil
}

// whole writes a service the override owns whole.
func (w *overrideWriter) whole(name string, exists bool, block string) error {
	if exists && w.doc != nil {
		return w.doc.ReplaceServiceText(name, block)
	}
	w.append = append(w.append, block)
	return nil
}

func (w *overrideWriter) remove(name string) error {
	if w.doc == nil {
		return nil
	}
	return w.doc.RemoveService(name)
}

func (w *overrideWriter) bytes() ([]byte, error) {
	text := w.text
	if w.doc != nil {
		text = string(w.doc.Bytes())
	}
	if len(w.append) > 0 && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	for i, block := range w.append {
		if i > 0 || w.doc != nil {
			text += "\n"
		}
		text += indent(block, "  ")
	}
	return []byte(text), nil
}

func indent(text, prefix string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if l == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString(prefix + l + "\n")
	}
	return b.String()
}

func quoteIfNeeded(s string) string {
	if strings.ContainsAny(s, ":#'\"{}[],&*!|>%@`") {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return s
}

func serviceNamed(ss []compose.Service, name string) compose.Service {
	for _, s := range ss {
		if s.Name == name {
			return s
		}
	}
	return compose.Service{}
}

func mergedPorts(ss []compose.Service, name string) []compose.Port {
	return serviceNamed(ss, name).Ports
}

// applyPortEdits makes a service's port changes on its merged list, in
// order (removals come highest index first, so indices hold).
func applyPortEdits(ports []compose.Port, edits []planner.Change) []compose.Port {
	out := append([]compose.Port(nil), ports...)
	for _, c := range edits {
		i := c.Port.Index
		switch {
		case c.Kind == planner.SetPort && i < len(out):
			out[i] = compose.Port(c.Port)
		case c.Kind == planner.RemovePort && i < len(out):
			out = append(out[:i], out[i+1:]...)
		}
	}
	for i := range out {
		out[i].Index = i
	}
	return out
}

func portsEqual(a, b []compose.Port) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].String() != b[i].String() {
			return false
		}
	}
	return true
}

// relativeTo is path as a file beside from refers to it.
func relativeTo(from, path string) string {
	if rel, err := filepath.Rel(filepath.Dir(from), path); err == nil {
		return rel
	}
	return path
}

// hasDeployReplicas reports a base service that sets deploy.replicas.
func hasDeployReplicas(base *compose.Document, name string) bool {
	text, ok := base.EntryText(name, "deploy")
	return ok && strings.Contains(text, "replicas:")
}

func baseHas(base []compose.Service, name string) bool {
	for _, b := range base {
		if b.Name == name {
			return true
		}
	}
	return false
}

// emptied reports a service of the override left with no key.
func (w *overrideWriter) emptied(name string) bool { return w.doc.EmptyService(name) }
